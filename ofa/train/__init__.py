"""Training a supernet: losses, checkpoints and recipes (import the submodules you need)."""
