"""The app's logic between the blueprints and the models/analysis: one module per idea."""
