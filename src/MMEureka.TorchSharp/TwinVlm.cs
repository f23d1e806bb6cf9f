using MMEureka.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MMEureka.Twin;

/// <summary>
/// MiniVlm written the TorchSharp way (ARCHITECTURE.md "The policy model"; the engine's
/// src/MMEureka/Models/MiniVlm.cs and bench/torch_models.py are its twins): a ViT over 8x8 patches, a projector to
/// the text width, and a causal decoder over [image vectors ; token embeddings] with learned positions.
/// Parameter names are the checkpoint's tensor names, so <see cref="TwinCheckpoint"/> loads model.safetensors name
/// for name and writes it back.
/// </summary>
public sealed class TwinVlm : Module
{
    /// <summary>Patch embedding, positions, bidirectional blocks and final norm.</summary>
    public readonly TwinVision vision;
    /// <summary>Two-layer MLP from vision width to text width.</summary>
    public readonly TwinProjector projector;
    /// <summary>Token and position embeddings, causal blocks and final norm.</summary>
    public readonly TwinText text;
    /// <summary>Output layer [vocab, text_dim], no bias.</summary>
    public readonly Linear lm_head;

    /// <summary>The shape (the engine's config record, read from the same config.json).</summary>
    public MiniVlmConfig Config { get; }

    /// <summary>Builds the model with TorchSharp's default initialisation (a checkpoint overwrites every tensor).</summary>
    public TwinVlm(MiniVlmConfig config) : base(nameof(TwinVlm))
    {
        Config = config.Validate();
        vision = new TwinVision(config);
        projector = new TwinProjector(config.VisionDim, config.TextDim);
        text = new TwinText(config);
        lm_head = Linear(config.TextDim, config.VocabSize, hasBias: false);
        RegisterComponents();
    }

    /// <summary>The device the parameters live on.</summary>
    public Device Device => lm_head.weight.device;

    /// <summary>Pixels [B, C, S, S] in [0, 1] to image vectors [B, P, text_dim].</summary>
    public Tensor EncodeImage(Tensor pixels)
    {
        var c = Config;
        if (pixels.dim() != 4 || pixels.shape[1] != c.Channels || pixels.shape[2] != c.ImageSize || pixels.shape[3] != c.ImageSize)
            throw new ArgumentException($"pixels must be [B, {c.Channels}, {c.ImageSize}, {c.ImageSize}], got [{string.Join(", ", pixels.shape)}]");
        return projector.forward(vision.forward(pixels));
    }

    /// <summary>Runs the decoder over new positions: <paramref name="x"/> [B, T, text_dim], <paramref name="positions"/>
    /// [B, T] int64 indices into text.pos_embed, <paramref name="keyMask"/> [B, Tk] bool (true = real key), and with
    /// <paramref name="cache"/> keys and values appended. Returns the normalised hidden states [B, T, text_dim].</summary>
    public Tensor Decode(Tensor x, Tensor positions, Tensor? keyMask = null, TwinCacheLayer[]? cache = null)
    {
        x = x + text.pos_embed.index_select(0, positions.reshape(-1)).view(x.shape);
        for (int i = 0; i < text.blocks.Count; i++) x = text.blocks[i].forward(x, causal: true, keyMask, cache?[i]);
        return text.norm.forward(x);
    }

    /// <summary>Logits [B, P + T, V] for every position of [image ; tokens] (positions 0..P+T-1, no padding): the
    /// reference forward of bench/torch_models.py and of the engine's <see cref="MiniVlm.forward"/>.</summary>
    public Tensor forward(Tensor pixels, Tensor tokens)
    {
        var x = cat([EncodeImage(pixels), text.tok_embed.forward(tokens)], 1);
        long b = x.shape[0], total = x.shape[1];
        var positions = arange(total, dtype: ScalarType.Int64, device: x.device).expand(b, total);
        return lm_head.forward(Decode(x, positions));
    }
}

/// <summary>ViT encoder: patch_embed, pos_embed, bidirectional pre-LN blocks, norm.</summary>
public sealed class TwinVision : Module<Tensor, Tensor>
{
    /// <summary>Linear(channels * patch^2 -> vision_dim).</summary>
    public readonly Linear patch_embed;
    /// <summary>[patches, vision_dim].</summary>
    public readonly Parameter pos_embed;
    /// <summary>Bidirectional blocks.</summary>
    public readonly ModuleList<TwinBlock> blocks;
    /// <summary>Final LayerNorm.</summary>
    public readonly LayerNorm norm;
    private readonly MiniVlmConfig _c;

    /// <summary>Builds the encoder.</summary>
    public TwinVision(MiniVlmConfig c) : base(nameof(TwinVision))
    {
        _c = c;
        patch_embed = Linear(c.PatchFeatures, c.VisionDim);
        pos_embed = new Parameter(zeros(c.ImageTokens, c.VisionDim));
        blocks = ModuleList(Enumerable.Range(0, c.VisionLayers).Select(_ => new TwinBlock(c.VisionDim, c.VisionHeads, c.MlpRatio, c.LayerNormEps)).ToArray());
        norm = LayerNorm(c.VisionDim, c.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>Pixels [B, C, S, S] in [0, 1] to [B, P, vision_dim].</summary>
    public override Tensor forward(Tensor pixels)
    {
        var x = patch_embed.forward(Patchify(pixels, _c)) + pos_embed;
        foreach (var block in blocks) x = block.forward(x, causal: false);
        return norm.forward(x);
    }

    /// <summary>[B, C, S, S] -> [B, P, C*p*p] with (x - 0.5) / 0.5; patch index row * cols + col, feature
    /// c * p^2 + py * p + px.</summary>
    public static Tensor Patchify(Tensor pixels, MiniVlmConfig c)
    {
        long b = pixels.shape[0], n = c.PatchesPerSide, p = c.PatchSize;
        return ((pixels - 0.5f) / 0.5f)
            .view(b, c.Channels, n, p, n, p)   // b, ch, row, py, col, px
            .permute(0, 2, 4, 1, 3, 5)         // b, row, col, ch, py, px
            .reshape(b, n * n, c.PatchFeatures);
    }
}

/// <summary>fc1 (vision_dim -> text_dim), exact GELU, fc2 (text_dim -> text_dim).</summary>
public sealed class TwinProjector : Module<Tensor, Tensor>
{
    /// <summary>First layer.</summary>
    public readonly Linear fc1;
    /// <summary>Second layer.</summary>
    public readonly Linear fc2;

    /// <summary>Builds the projector.</summary>
    public TwinProjector(long visionDim, long textDim) : base(nameof(TwinProjector))
    {
        fc1 = Linear(visionDim, textDim);
        fc2 = Linear(textDim, textDim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}

/// <summary>Token embedding, learned positions over image + text, causal blocks, final norm (the decoder runs
/// through <see cref="TwinVlm.Decode"/>, which needs the image vectors too).</summary>
public sealed class TwinText : Module
{
    /// <summary>[vocab, text_dim].</summary>
    public readonly Embedding tok_embed;
    /// <summary>[image_tokens + max_text_len, text_dim].</summary>
    public readonly Parameter pos_embed;
    /// <summary>Causal blocks.</summary>
    public readonly ModuleList<TwinBlock> blocks;
    /// <summary>Final LayerNorm.</summary>
    public readonly LayerNorm norm;

    /// <summary>Builds the decoder's parts.</summary>
    public TwinText(MiniVlmConfig c) : base(nameof(TwinText))
    {
        tok_embed = Embedding(c.VocabSize, c.TextDim);
        pos_embed = new Parameter(zeros(c.MaxSequence, c.TextDim));
        blocks = ModuleList(Enumerable.Range(0, c.TextLayers).Select(_ => new TwinBlock(c.TextDim, c.TextHeads, c.MlpRatio, c.LayerNormEps)).ToArray());
        norm = LayerNorm(c.TextDim, c.LayerNormEps);
        RegisterComponents();
    }
}
