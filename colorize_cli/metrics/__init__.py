"""The measures of colourisation quality (PSNR, SSIM, ab errors, colourfulness, hue harmony and
balance, CIEDE2000; CDC and warp error for clips), one namespace for ``evaluate/`` and the
exporters: ``from colorize_cli import metrics as M``. They import nothing of the runtime but
``extras``, so that an evaluation never shares the code it judges."""

from colorize_cli.metrics.images import (  # noqa: F401
    AB_PEAK, AB_OFFSET, AB_SSIM_WINDOW, AB_SSIM_C1, AB_SSIM_C2, HUE_BINS, CDC_DILATIONS, FLOW_ALPHA,
    FLOW_BETA, METRIC_KEYS, TRUTH_KEYS, EQUAL_RGB, EQUAL_AB, to_float01, to_uint8, to_lab,
    gray_baseline, TooSmall, psnr_rgb, ssim_rgb, ab_rmse, ab_psnr, ab_ssim, colourfulness, harmony,
    hue_balance, delta_e2000, truth_scores, image_scores, channel_histograms, cdc_from_histograms,
    cdc, Flow, consistent_flow, consistent_flows, pair_warp_error, warp_error, summarise,
)
