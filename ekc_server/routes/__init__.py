"""REST API v1 routers, one module per noun."""
