"""Steering the colour by hand through the pipeline's ``ab_filter`` hook: colour hints on a
photo (``hints`` read them, ``propagate`` spreads them) and keyframes carried through a film
(``keyframes``)."""
