"""Training recipes: CIFAR-10 classification and face embedding (margin and triplet losses)."""
