"""From a trained supernet to deployable, verified models: pick, extract, fine-tune, export, card."""
