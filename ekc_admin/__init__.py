"""`ekc-admin`: the command line of shift leads and admins; talks to the backend over HTTP."""
