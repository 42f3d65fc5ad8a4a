# Copyright (c) OpenMMLab. All rights reserved.
from .dcn_pack import DEFAULT_OFFSET_PADDING, OFFSET_PADDING_MODES, DCNPack, prefix_view
from .deform_conv import (
    DCN_IMPLS,
    DEFAULT_DCN_IMPL,
    ModulatedDeformConv,
    modulated_deform_conv2d,
    resolve_dcn_impl,
)
from .feature_refinement import (
    ALIGN_DIRECTIONS,
    FeatureRefinementModule,
    PCDAlignment3,
    TSAFusion,
)
from .layout import channels_last, interleave
from .rsb import ChainOfRSBBlocks, RSBBlock, conv_bn
from .semantic_refinement import SemanticRefinementModule, margin_weights
from .weight_init import OFFSET_INIT_MODES, fasr_init_weights

__all__ = [
    'DCNPack',
    'prefix_view',
    'OFFSET_PADDING_MODES',
    'DEFAULT_OFFSET_PADDING',
    'DCN_IMPLS',
    'DEFAULT_DCN_IMPL',
    'ModulatedDeformConv',
    'modulated_deform_conv2d',
    'resolve_dcn_impl',
    'PCDAlignment3',
    'TSAFusion',
    'FeatureRefinementModule',
    'interleave',
    'channels_last',
    'ALIGN_DIRECTIONS',
    'conv_bn',
    'RSBBlock',
    'ChainOfRSBBlocks',
    'SemanticRefinementModule',
    'margin_weights',
    'fasr_init_weights',
    'OFFSET_INIT_MODES',
]
