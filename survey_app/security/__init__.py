"""Defences of the web app that several blueprints share (redirects, sign-in throttling, input
bounds, production settings)."""
