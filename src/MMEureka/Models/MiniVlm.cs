using MMEureka.Torch;
using MMEureka.Torch.Modules;
using static MMEureka.Torch.torch;

namespace MMEureka.Models;

/// <summary>
/// The policy (ARCHITECTURE.md "The policy model"): a small ViT encodes 8x8 patches of the image, a projector maps
/// them to the text width, and a causal decoder reads [image vectors ; token embeddings] with learned positions.
/// Parameter names match the PyTorch twin in bench/torch_models.py, so model.safetensors loads there name for name.
/// </summary>
public sealed partial class MiniVlm : nn.Module
{
    /// <summary>Patch embedding, positions, bidirectional blocks and final norm.</summary>
    public readonly VisionEncoder vision;
    /// <summary>Two-layer MLP from vision width to text width.</summary>
    public readonly Projector projector;
    /// <summary>Token and position embeddings, causal blocks and final norm.</summary>
    public readonly TextDecoder text;
    /// <summary>Output layer [vocab, text_dim], no bias.</summary>
    public readonly Linear lm_head;

    /// <summary>The shape this model was built with.</summary>
    public MiniVlmConfig Config { get; }

    /// <summary>Builds the model and initialises it from <paramref name="seed"/>: Linear weights and token
    /// embeddings N(0, 1/fan_in) (LeCun), residual output projections further scaled by 1/sqrt(2 * layers)
    /// (GPT-2), positions N(0, 0.02), biases 0, LayerNorms 1 and 0.</summary>
    public MiniVlm(MiniVlmConfig config, long seed = 0)
    {
        Config = config.Validate();
        vision = new VisionEncoder(config);
        projector = new Projector(config.VisionDim, config.TextDim);
        text = new TextDecoder(config);
        lm_head = nn.Linear(config.TextDim, config.VocabSize, hasBias: false);
        RegisterComponents();
        Initialise(new Generator(seed));
    }

    // Why not GPT-2's N(0, 0.02): at width 96-128 it leaves attention logits near zero, and the decoder then takes
    // thousands of steps to learn to look at one patch of the image (a 4x4 dot of colour stayed at chance after
    // 600 steps; with fan-in scaling it is read within 300).
    private void Initialise(Generator g)
    {
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            bool isNorm = name.Contains(".ln1.") || name.Contains(".ln2.") || name.Contains("norm.");
            if (isNorm) continue; // LayerNorm keeps weight 1, bias 0
            if (name.EndsWith(".bias")) { nn.init.zeros_(p); continue; }
            if (name.EndsWith("pos_embed")) { nn.init.normal_(p, 0, 0.02, g); continue; }
            int layers = name.StartsWith("vision.") ? Config.VisionLayers : Config.TextLayers;
            bool residualOut = name.EndsWith("attn.proj.weight") || name.EndsWith("mlp.fc2.weight");
            double std = 1 / Math.Sqrt(p.size(1)); // fan-in of [out, in]; the embedding's row width
            nn.init.normal_(p, 0, residualOut ? std / Math.Sqrt(2.0 * layers) : std, g);
        }
    }

    /// <summary>A stack of pre-LN blocks named 0, 1, ... (the vision and text towers differ only in width and depth).</summary>
    internal static ModuleList<TransformerBlock> Blocks(int layers, int dim, int heads, MiniVlmConfig c) =>
        nn.ModuleList(Enumerable.Range(0, layers).Select(_ => nn.TransformerBlock(dim, heads, c.MlpRatio, c.LayerNormEps)).ToArray());

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount()
    {
        long n = 0;
        foreach (var p in parameters()) n += p.numel();
        return n;
    }

    /// <summary>The parameters an RL or PRM run optimises: all of them with <paramref name="trainVision"/>, otherwise
    /// all but the vision tower's, which are then marked as needing no gradient (the papers freeze the vision encoder).</summary>
    public List<(string name, Tensor parameter)> TrainableParameters(bool trainVision)
    {
        if (trainVision) return named_parameters().ToList();
        foreach (var p in vision.parameters()) p.requires_grad_(false);
        return named_parameters().Where(p => !p.name.StartsWith("vision.", StringComparison.Ordinal)).ToList();
    }

    /// <summary>Pixels [B, C, S, S] in [0, 1] to image vectors [B, P, text_dim] (vision encoder + projector).</summary>
    public Tensor EncodeImage(Tensor pixels)
    {
        var c = Config;
        if (pixels.dim() != 4 || pixels.size(1) != c.Channels || pixels.size(2) != c.ImageSize || pixels.size(3) != c.ImageSize)
            throw new ArgumentException($"pixels must be [B, {c.Channels}, {c.ImageSize}, {c.ImageSize}], got [{string.Join(", ", pixels.shape)}]");
        return projector.forward(vision.forward(pixels));
    }

    /// <summary>
    /// Runs the decoder over new positions: <paramref name="x"/> [B, T, text_dim] are input vectors (image vectors
    /// and/or token embeddings), <paramref name="positions"/> (B*T, row-major) index text.pos_embed;
    /// <paramref name="keyPaddingMask"/> [B, Tk] marks real keys (Tk = cached + T); with <paramref name="cache"/>
    /// keys and values are appended. Returns the normalised hidden states [B, T, text_dim].
    /// </summary>
    public Tensor Decode(Tensor x, int[] positions, Tensor? keyPaddingMask = null, KVCache? cache = null)
    {
        x = WithPositions(x, positions);
        for (int i = 0; i < text.blocks.Count; i++)
            x = text.blocks[i].forward(x, causal: true, keyPaddingMask, cache?[i]);
        return text.norm.forward(x);
    }

    /// <summary>
    /// <see cref="Decode"/> when only the last position's output is wanted (a sampler's prefill): every layer
    /// appends all positions' keys and values to <paramref name="cache"/>, and the last layer computes its output for
    /// the last position alone (<see cref="Torch.Modules.TransformerBlock.forward_last"/>). Returns the normalised
    /// hidden state [B, 1, text_dim] of position T - 1, as Decode(...)[:, -1:] up to float rounding. No gradient.
    /// </summary>
    public Tensor DecodeLast(Tensor x, int[] positions, KVCache cache)
    {
        x = WithPositions(x, positions);
        int last = text.blocks.Count - 1;
        for (int i = 0; i < last; i++)
            x = text.blocks[i].forward(x, causal: true, null, cache[i]);
        return text.norm.forward(text.blocks[last].forward_last(x, cache[last]));
    }

    // x + the learned positions of its B*T slots (row-major), each checked against the table's length.
    private Tensor WithPositions(Tensor x, int[] positions)
    {
        foreach (var p in positions)
            if (p < 0 || p >= Config.MaxSequence)
                throw new ArgumentOutOfRangeException(nameof(positions), $"position {p} is outside [0, {Config.MaxSequence}) (image {Config.ImageTokens} + max_text_len {Config.MaxTextLen})");
        return x + nn.functional.embedding(positions, [x.size(0), x.size(1)], text.pos_embed);
    }

    /// <summary>Embeds token ids laid out [B, T] (row-major).</summary>
    public Tensor EmbedTokens(int[] tokens, long batch, long length) => text.tok_embed.forward(tokens, batch, length);

    /// <summary>
    /// Logits [B, P + T, V] for every position of [image ; tokens] (image positions included), positions 0..P+T-1,
    /// no padding. The reference forward that bench/parity.py reproduces.
    /// </summary>
    public Tensor forward(Tensor pixels, int[] tokens, long length)
    {
        long b = pixels.size(0);
        if (tokens.Length != b * length) throw new ArgumentException($"{tokens.Length} token ids do not fill [{b}, {length}]");
        var x = cat([EncodeImage(pixels), EmbedTokens(tokens, b, length)], 1);
        long total = x.size(1);
        var positions = new int[b * total];
        for (int r = 0; r < b; r++)
            for (int j = 0; j < total; j++) positions[r * total + j] = j;
        return lm_head.forward(Decode(x, positions));
    }
}

/// <summary>ViT encoder: patch_embed, pos_embed, bidirectional pre-LN blocks, norm.</summary>
public sealed class VisionEncoder : nn.Module
{
    /// <summary>Linear(channels * patch^2 -> vision_dim).</summary>
    public readonly Linear patch_embed;
    /// <summary>[patches, vision_dim].</summary>
    public readonly Tensor pos_embed;
    /// <summary>Bidirectional blocks.</summary>
    public readonly ModuleList<TransformerBlock> blocks;
    /// <summary>Final LayerNorm.</summary>
    public readonly LayerNorm norm;

    private readonly MiniVlmConfig _c;

    /// <summary>Builds the encoder (weights are set by <see cref="MiniVlm"/>).</summary>
    public VisionEncoder(MiniVlmConfig c)
    {
        _c = c;
        patch_embed = nn.Linear(c.PatchFeatures, c.VisionDim);
        pos_embed = nn.Parameter(zeros(c.ImageTokens, c.VisionDim));
        blocks = MiniVlm.Blocks(c.VisionLayers, c.VisionDim, c.VisionHeads, c);
        norm = nn.LayerNorm(c.VisionDim, c.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>Pixels [B, C, S, S] in [0, 1] to [B, P, vision_dim].</summary>
    public Tensor forward(Tensor pixels)
    {
        var x = patch_embed.forward(Patchify(pixels, _c)) + pos_embed;
        foreach (var block in blocks) x = block.forward(x, causal: false);
        return norm.forward(x);
    }

    /// <summary>[B, C, S, S] -> [B, P, C*p*p] with (x - 0.5) / 0.5; patch index row * cols + col, feature
    /// c * p^2 + py * p + px.</summary>
    public static Tensor Patchify(Tensor pixels, MiniVlmConfig c)
    {
        long b = pixels.size(0), n = c.PatchesPerSide, p = c.PatchSize;
        var x = (pixels - 0.5f) / 0.5f;
        return x.view(b, c.Channels, n, p, n, p)      // b, ch, row, py, col, px
                .permute(0, 2, 4, 1, 3, 5)            // b, row, col, ch, py, px
                .reshape(b, n * n, c.PatchFeatures);
    }
}

/// <summary>fc1 (vision_dim -> text_dim), exact GELU, fc2 (text_dim -> text_dim).</summary>
public sealed class Projector : nn.Module
{
    /// <summary>First layer.</summary>
    public readonly Linear fc1;
    /// <summary>Second layer.</summary>
    public readonly Linear fc2;

    /// <summary>Builds the projector.</summary>
    public Projector(long visionDim, long textDim)
    {
        fc1 = nn.Linear(visionDim, textDim);
        fc2 = nn.Linear(textDim, textDim);
        RegisterComponents();
    }

    /// <summary>[B, P, vision_dim] -> [B, P, text_dim].</summary>
    public Tensor forward(Tensor x) => fc2.forward(fc1.forward(x).gelu());
}

/// <summary>Token embedding, learned positions over image + text, causal blocks, final norm.</summary>
public sealed class TextDecoder : nn.Module
{
    /// <summary>[vocab, text_dim].</summary>
    public readonly Embedding tok_embed;
    /// <summary>[image_tokens + max_text_len, text_dim].</summary>
    public readonly Tensor pos_embed;
    /// <summary>Causal blocks.</summary>
    public readonly ModuleList<TransformerBlock> blocks;
    /// <summary>Final LayerNorm.</summary>
    public readonly LayerNorm norm;

    /// <summary>Builds the decoder (weights are set by <see cref="MiniVlm"/>).</summary>
    public TextDecoder(MiniVlmConfig c)
    {
        tok_embed = nn.Embedding(c.VocabSize, c.TextDim);
        pos_embed = nn.Parameter(zeros(c.MaxSequence, c.TextDim));
        blocks = MiniVlm.Blocks(c.TextLayers, c.TextDim, c.TextHeads, c);
        norm = nn.LayerNorm(c.TextDim, c.LayerNormEps);
        RegisterComponents();
    }
}
