"""Command line and reports: the one package that imports all the others."""
