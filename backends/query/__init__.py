"""Language-neutral query layer: the shared tree, its evaluator, field models and errors."""
