"""Architecture descriptions: each model is described once here and built by every backend."""
