"""Modal dialogs of the app: confirm, speakers, export, save conflict."""
