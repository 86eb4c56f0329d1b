"""The county's own settings, edited by its administrator on screen."""
