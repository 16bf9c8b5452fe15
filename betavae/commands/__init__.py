"""The command-line programs; the top-level scripts of the same names call their main()."""
