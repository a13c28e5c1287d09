"""Importing departments' files, one module per job: `readers` open every format, `parsing`
recognises a table's shape, `matching` ties names to the warehouse's codes, `validation` judges
the rows, `problems` words what it finds; `catalogue` and `targets` are the two other kinds of
file. Nothing here writes: `warehouse.publish` writes what validation let through."""
