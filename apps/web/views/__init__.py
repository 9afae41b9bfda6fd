"""Portal views, one module per page group."""
