"""Multi-objective search over a space's subnets on pymoo: the vectorized problem, operators that
change 3-way genes, strategies, and the Pareto front with its hypervolume."""
