"""The owners of the tables between stages: each names its table's columns (constants), says
their dtypes and units, and reads and writes the table. Nothing else spells a column name.

- :mod:`.calls`: the calls table, from the reader through the stages to ``calls.parquet``;
- :mod:`.measures`: the per-area measures (``<measure>_<family>`` columns of the area
  layers, and the long ``indices.parquet``);
- :mod:`.report`: the typed quality and summary reports (``quality.json``,
  ``summary.json``).
"""
