"""Model compression: post-training quantization, magnitude pruning, knowledge distillation."""
