"""Pure helpers every layer may use (no models, no Django apps): money arithmetic."""
