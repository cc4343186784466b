"""Dataset readers: folder-per-class images, CIFAR-10 batches, LFW-format pairs."""
