"""Films, in the order a run goes through them: what is asked (``options``), what is decided
before a frame flows (``plan``, with the resume ``identity``), the stream of frames (``stream``,
on the threads of ``threads``) and the run's steps from first to last (``run``); below them,
reading (``read``), encoding (``encode``), the resumable work folder (``segments``) and the
final file (``join``)."""
