"""Films: options and the run (``run``), reading (``read``), encoding (``encode``), the
resumable work dir (``segments``) and the final file (``join``)."""
