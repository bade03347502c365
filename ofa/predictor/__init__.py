"""Accuracy predictors: real accuracy of sampled subnets (`collect`), their features, models
stored without pickle, and the report that says how far to trust them."""
