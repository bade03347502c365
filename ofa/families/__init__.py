"""Families of search spaces: what a space file of each family holds, its subnets and genes, its
networks, costs, latency parts and predictor encodings (one package each)."""
