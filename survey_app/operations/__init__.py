"""Running the app in production: backup and restore, retention of personal data."""
