"""A synthetic county in interchange-v1, with planted cases for every red flag."""
