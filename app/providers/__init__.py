"""SMS providers behind one small async interface."""
