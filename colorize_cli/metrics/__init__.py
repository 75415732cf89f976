"""The measures of colourisation quality (PSNR, SSIM, ab errors, colourfulness, hue harmony and
balance, CIEDE2000 in ``images``; CDC and warp error in ``clips``), one namespace for
``evaluate/`` and the exporters: ``from colorize_cli import metrics as M``. They import nothing
of the runtime but ``extras``, so that an evaluation never shares the code it judges; the
conventions (RGB in, scikit-image's Lab, infinities kept) are in :mod:`colorize_cli.metrics.images`."""

from colorize_cli.metrics.images import (
    AB_PEAK, AB_OFFSET, AB_SSIM_WINDOW, AB_SSIM_C1, AB_SSIM_C2, HUE_BINS, METRIC_KEYS, TRUTH_KEYS, EQUAL_RGB,
    EQUAL_AB, to_float01, to_uint8, to_lab, gray_baseline, TooSmall, psnr_rgb, ssim_rgb, ab_rmse, ab_psnr,
    ab_ssim, cast_of_ab, global_cast, colourfulness, harmony, hue_balance, delta_e2000, truth_scores, image_scores, summarise,
)
from colorize_cli.metrics.clips import (
    CDC_DILATIONS, FLOW_ALPHA, FLOW_BETA, channel_histograms, cdc_from_histograms, cdc, Flow, consistent_flow,
    consistent_flows, pair_warp_error, warp_error,
)

__all__ = [
    "AB_OFFSET", "AB_SSIM_WINDOW", "EQUAL_RGB", "EQUAL_AB", "FLOW_ALPHA", "FLOW_BETA", "Flow",
    "TooSmall", "AB_PEAK", "AB_SSIM_C1", "AB_SSIM_C2", "CDC_DILATIONS", "HUE_BINS", "METRIC_KEYS",
    "TRUTH_KEYS", "to_float01", "to_uint8", "to_lab", "gray_baseline", "psnr_rgb", "ssim_rgb", "ab_rmse",
    "ab_psnr", "ab_ssim", "cast_of_ab", "global_cast", "colourfulness", "harmony", "hue_balance", "delta_e2000", "image_scores",
    "truth_scores", "channel_histograms", "cdc_from_histograms", "cdc", "consistent_flow", "consistent_flows",
    "pair_warp_error", "warp_error", "summarise",
]
