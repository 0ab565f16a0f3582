"""Domain services: keyword-only functions over a Session; routes stay thin."""
