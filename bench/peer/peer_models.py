"""The networks medssl trains, written in plain PyTorch eager for the benchmark peers (bench/peer/*.py).

Each class mirrors the medssl module of the same name layer for layer (same layers, widths, norms, dropout, and
therefore the same parameter count, which train_step.py prints and bench/compare.sh checks against medssl's). They
are written the way a PyTorch user would write them (nn.Upsample, nn.ConvTranspose3d, nn.Linear, ...): the peer is
"what people run today", not a copy of medssl's implementation tricks.

  UNet (Taleb et al.)  src/medssl/models/unet*.{h,cpp}: conv3-ReLU-BN(eps 1e-3, momentum .01)-Dropout(.5)-conv3-ReLU-BN
                       per level, max pools, bottleneck, final max pool, nearest x2 upsample, transposed convs, 1x1 head
  BigFully / heads     src/medssl/models/heads.{h,cpp}
  pretext networks     src/medssl/pretext/{classification_head,exemplar,cpc,simsiam}.cpp
  UNETR (MONAI)        src/medssl/models/{unetr,unetr_blocks,vit,transformer_block,patch_embedding}.{h,cpp}
  DenseNet-121         torchvision.models.densenet121 (medssl's DenseNet has torchvision's exact module tree)
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_type(dims):
    return nn.Conv3d if dims == 3 else nn.Conv2d


def batch_norm_type(dims):
    return nn.BatchNorm3d if dims == 3 else nn.BatchNorm2d


def max_pool_type(dims):
    return nn.MaxPool3d if dims == 3 else nn.MaxPool2d


# ------------------------------------------------------------------------------------------------ Taleb UNet


class UNetBlock(nn.Module):
    def __init__(self, dims, cin, cout, dropout=0.5):
        super().__init__()
        conv, bn = conv_type(dims), batch_norm_type(dims)
        self.conv1 = conv(cin, cout, 3, padding=1)
        self.norm1 = bn(cout, eps=1e-3, momentum=0.01)
        self.conv2 = conv(cout, cout, 3, padding=1)
        self.norm2 = bn(cout, eps=1e-3, momentum=0.01)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x):
        y = self.norm1(F.relu(self.conv1(x)))
        if self.dropout is not None:
            y = self.dropout(y)
        return self.norm2(F.relu(self.conv2(y)))


class UNetEncoder(nn.Module):
    def __init__(self, dims=3, in_channels=1, filters=16, layers=4, pooling="max", dropout=0.5):
        super().__init__()
        self.down = nn.ModuleList()
        cin = in_channels
        for level in range(layers):
            self.down.append(UNetBlock(dims, cin, filters << level, dropout))
            cin = filters << level
        self.bottleneck = UNetBlock(dims, cin, filters << layers, dropout)
        self.pool = max_pool_type(dims)(2)
        self.final_pool = max_pool_type(dims)(2) if pooling == "max" else None
        self.out_channels = filters << layers

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        bottleneck = self.bottleneck(x)
        out = self.final_pool(bottleneck) if self.final_pool is not None else bottleneck
        return out, bottleneck, skips[::-1]


class UNetDecoder(nn.Module):
    def __init__(self, dims=3, num_classes=3, filters=16, layers=4, dropout=0.5):
        super().__init__()
        convt = nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.upconvs = nn.ModuleList()
        self.blocks = nn.ModuleList()
        cin = filters << layers
        for _ in range(layers):
            out = cin // 2
            self.upconvs.append(convt(cin, out, 2, stride=2))
            self.blocks.append(UNetBlock(dims, 2 * out, out, dropout))
            cin = out
        self.head = conv_type(dims)(cin, num_classes, 1)

    def forward(self, out, bottleneck, skips):
        x = self.upsample(out)
        for upconv, block, skip in zip(self.upconvs, self.blocks, skips):
            x = block(torch.cat([upconv(x), skip], 1))
        return self.head(x)


class UNet(nn.Module):
    def __init__(self, dims=3, in_channels=1, num_classes=3, filters=16, layers=4):
        super().__init__()
        self.encoder = UNetEncoder(dims, in_channels, filters, layers)
        self.decoder = UNetDecoder(dims, num_classes, filters, layers)

    def forward(self, x):
        return self.decoder(*self.encoder(x))


def encode_flat(encoder, images):
    return encoder(images)[0].flatten(1)


def encoded_width(encoder, dims, in_channels, side):
    with torch.no_grad():
        was = encoder.training
        encoder.eval()
        width = encode_flat(encoder, torch.zeros([1, in_channels] + [side] * dims)).shape[1]
        encoder.train(was)
    return width


# ------------------------------------------------------------------------------------------------ heads


class BigFully(nn.Module):
    def __init__(self, in_features, hidden1=2048, hidden2=1024, dropout=0.5):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden1)
        self.bn1 = nn.BatchNorm1d(hidden1, eps=1e-3, momentum=0.01)
        self.fc2 = nn.Linear(hidden1, hidden2)
        self.bn2 = nn.BatchNorm1d(hidden2, eps=1e-3, momentum=0.01)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.dropout(self.bn1(F.relu(self.fc1(x))))
        return self.dropout(self.bn2(F.relu(self.fc2(x))))


class PatchClassifier(nn.Module):
    """rotation / rpl / jigsaw: TimeDistributed(encoder) -> flatten -> big_fully -> Linear(classes)."""

    def __init__(self, dims, in_channels, patches, side, classes, hidden=(2048, 1024), enc=None):
        super().__init__()
        self.encoder = UNetEncoder(dims, in_channels, **(enc or {}))
        width = encoded_width(self.encoder, dims, in_channels, side)
        self.top = BigFully(width * patches, hidden[0], hidden[1])
        self.classifier = nn.Linear(hidden[1], classes)
        self.dims = dims

    def forward(self, x):
        batch = x.shape[0]
        images = x if x.dim() == self.dims + 2 else x.flatten(0, 1)
        return self.classifier(self.top(encode_flat(self.encoder, images).reshape(batch, -1)))


class ExemplarNet(nn.Module):
    """exemplar (medssl default): shared encoder -> one shared Linear(code) -> L2 normalisation."""

    def __init__(self, dims, in_channels, side, code_size=1024, enc=None):
        super().__init__()
        self.encoder = UNetEncoder(dims, in_channels, **(enc or {}))
        self.projection = nn.Linear(encoded_width(self.encoder, dims, in_channels, side), code_size)

    def forward(self, triplets):
        batch = triplets.shape[0]
        features = encode_flat(self.encoder, triplets.flatten(0, 1)).view(batch, 3, -1)
        return F.normalize(self.projection(features), p=2, dim=-1)


class CpcNet(nn.Module):
    """cpc: g = encoder -> Linear(code); GRU(256) over the context codes; one Linear(code) per target."""

    def __init__(self, dims, in_channels, patch_side, num_targets, code_size=1024, context_units=256, enc=None):
        super().__init__()
        self.encoder = UNetEncoder(dims, in_channels, **(enc or {}))
        self.projection = nn.Linear(encoded_width(self.encoder, dims, in_channels, patch_side), code_size)
        self.gru = nn.GRU(code_size, context_units, batch_first=True)
        self.predictors = nn.ModuleList([nn.Linear(context_units, code_size) for _ in range(num_targets)])

    def forward(self, context, target):
        s, t, k = context.shape[0], context.shape[1], target.shape[1]
        codes = self.projection(encode_flat(self.encoder, torch.cat([context.flatten(0, 1), target.flatten(0, 1)])))
        context_codes = codes[: s * t].view(s, t, -1)
        target_codes = codes[s * t:].view(s, k, -1)
        _, hidden = self.gru(context_codes)
        summary = hidden[-1]
        return torch.stack([p(summary) for p in self.predictors], 1), target_codes


class SimSiamNet(nn.Module):
    """simsiam: encoder -> projector (3 x Linear-BN, last BN without affine) -> predictor (2048-512-2048)."""

    def __init__(self, dims, in_channels, crop_side, dim=2048, hidden=2048, predictor_hidden=512, enc=None):
        super().__init__()
        self.encoder = UNetEncoder(dims, in_channels, **(enc or {}))
        width = encoded_width(self.encoder, dims, in_channels, crop_side)
        self.projector = nn.Sequential(
            nn.Linear(width, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, dim, bias=False), nn.BatchNorm1d(dim, affine=False))
        self.predictor = nn.Sequential(nn.Linear(dim, predictor_hidden, bias=False), nn.BatchNorm1d(predictor_hidden),
                                       nn.ReLU(), nn.Linear(predictor_hidden, dim))

    def embed(self, views):
        return encode_flat(self.encoder, views)


# ------------------------------------------------------------------------------------------------ MONAI UNETR


class MLPBlock(nn.Module):
    def __init__(self, hidden, mlp_dim, dropout=0.0):
        super().__init__()
        self.linear1 = nn.Linear(hidden, mlp_dim)
        self.linear2 = nn.Linear(mlp_dim, hidden)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop2(self.linear2(self.drop1(F.gelu(self.linear1(x)))))


class SABlock(nn.Module):
    def __init__(self, hidden, heads, dropout=0.0, qkv_bias=False):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.scale = self.head_dim ** -0.5
        self.out_proj = nn.Linear(hidden, hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden, bias=qkv_bias)
        self.drop_output = nn.Dropout(dropout)
        self.drop_weights = nn.Dropout(dropout)

    def forward(self, x):
        b, n, h = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attention = self.drop_weights((q @ k.transpose(-2, -1) * self.scale).softmax(-1))
        out = (attention @ v).permute(0, 2, 1, 3).reshape(b, n, h)
        return self.drop_output(self.out_proj(out))


class TransformerBlock(nn.Module):
    def __init__(self, hidden, mlp_dim, heads, dropout=0.0, qkv_bias=False):
        super().__init__()
        self.mlp = MLPBlock(hidden, mlp_dim, dropout)
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = SABlock(hidden, heads, dropout, qkv_bias)
        self.norm2 = nn.LayerNorm(hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, in_channels, img_size, patch=16, hidden=768, mlp_dim=3072, layers=12, heads=12, dims=3):
        super().__init__()
        self.grid = [s // patch for s in img_size]
        n = 1
        for g in self.grid:
            n *= g
        self.patch_embeddings = conv_type(dims)(in_channels, hidden, patch, stride=patch)
        self.position_embeddings = nn.Parameter(torch.zeros(1, n, hidden))
        nn.init.trunc_normal_(self.position_embeddings, std=0.02)
        self.dropout = nn.Dropout(0.0)
        self.blocks = nn.ModuleList([TransformerBlock(hidden, mlp_dim, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x):
        x = self.dropout(self.patch_embeddings(x).flatten(2).transpose(-1, -2) + self.position_embeddings)
        hidden_states = []
        for block in self.blocks:
            x = block(x)
            hidden_states.append(x)
        return self.norm(x), hidden_states


def conv_layer(dims, cin, cout, kernel, stride=1, bias=False, transposed=False):
    if transposed:
        return (nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d)(cin, cout, kernel, stride=stride, bias=bias)
    return conv_type(dims)(cin, cout, kernel, stride=stride, padding=(kernel - stride + 1) // 2, bias=bias)


def instance_norm(dims, channels):
    return (nn.InstanceNorm3d if dims == 3 else nn.InstanceNorm2d)(channels)


class UnetResBlock(nn.Module):
    def __init__(self, dims, cin, cout):
        super().__init__()
        self.conv1 = conv_layer(dims, cin, cout, 3)
        self.conv2 = conv_layer(dims, cout, cout, 3)
        self.lrelu = nn.LeakyReLU(0.01)
        self.norm1 = instance_norm(dims, cout)
        self.norm2 = instance_norm(dims, cout)
        self.downsample = cin != cout
        if self.downsample:
            self.conv3 = conv_layer(dims, cin, cout, 1)
            self.norm3 = instance_norm(dims, cout)

    def forward(self, x):
        out = self.norm2(self.conv2(self.lrelu(self.norm1(self.conv1(x)))))
        residual = self.norm3(self.conv3(x)) if self.downsample else x
        return self.lrelu(out + residual)


class UnetrPrUpBlock(nn.Module):
    def __init__(self, dims, cin, cout, num_layer):
        super().__init__()
        self.transp_conv_init = conv_layer(dims, cin, cout, 2, 2, transposed=True)
        self.blocks = nn.ModuleList([nn.Sequential(conv_layer(dims, cout, cout, 2, 2, transposed=True),
                                                   UnetResBlock(dims, cout, cout)) for _ in range(num_layer)])

    def forward(self, x):
        x = self.transp_conv_init(x)
        for block in self.blocks:
            x = block(x)
        return x


class UnetrUpBlock(nn.Module):
    def __init__(self, dims, cin, cout):
        super().__init__()
        self.transp_conv = conv_layer(dims, cin, cout, 2, 2, transposed=True)
        self.conv_block = UnetResBlock(dims, 2 * cout, cout)

    def forward(self, x, skip):
        return self.conv_block(torch.cat([self.transp_conv(x), skip], 1))


class UNETR(nn.Module):
    def __init__(self, in_channels, out_channels, img_size, feature_size=16, hidden=768, mlp_dim=3072, heads=12,
                 dims=3):
        super().__init__()
        f = feature_size
        self.vit = ViT(in_channels, img_size, 16, hidden, mlp_dim, 12, heads, dims)
        self.encoder1 = UnetResBlock(dims, in_channels, f)
        self.encoder2 = UnetrPrUpBlock(dims, hidden, 2 * f, 2)
        self.encoder3 = UnetrPrUpBlock(dims, hidden, 4 * f, 1)
        self.encoder4 = UnetrPrUpBlock(dims, hidden, 8 * f, 0)
        self.decoder5 = UnetrUpBlock(dims, hidden, 8 * f)
        self.decoder4 = UnetrUpBlock(dims, 8 * f, 4 * f)
        self.decoder3 = UnetrUpBlock(dims, 4 * f, 2 * f)
        self.decoder2 = UnetrUpBlock(dims, 2 * f, f)
        self.out = conv_layer(dims, f, out_channels, 1, bias=True)

    def proj_feat(self, x):
        b, _, h = x.shape
        x = x.view([b] + self.vit.grid + [h])
        return x.permute([0, len(self.vit.grid) + 1] + list(range(1, len(self.vit.grid) + 1))).contiguous()

    def forward(self, x):
        encoded, hidden_states = self.vit(x)
        enc1 = self.encoder1(x)
        enc2 = self.encoder2(self.proj_feat(hidden_states[3]))
        enc3 = self.encoder3(self.proj_feat(hidden_states[6]))
        enc4 = self.encoder4(self.proj_feat(hidden_states[9]))
        dec3 = self.decoder5(self.proj_feat(encoded), enc4)
        dec2 = self.decoder4(dec3, enc3)
        dec1 = self.decoder3(dec2, enc2)
        return self.out(self.decoder2(dec1, enc1))


def count_parameters(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
