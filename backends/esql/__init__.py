"""ES|QL target: emitter only (sigport has no ES|QL interpreter yet, so ``check`` says so)."""
