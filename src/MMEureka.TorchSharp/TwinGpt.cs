using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MMEureka.Twin;

/// <summary>
/// The benchmark GPT in TorchSharp, name for name the twin of the engine's BenchGpt (src/MMEureka.Cli/Bench/BenchGpt.cs)
/// and of <c>Gpt</c> in bench/torch_models.py: tok_embed, learned pos_embed [T, D], pre-LN blocks, final LayerNorm
/// norm, bias-free lm_head. Defaults: vocab 96, width 128, 4 layers, 4 heads, 96 positions.
/// </summary>
public sealed class TwinGpt : Module
{
    /// <summary>[vocab, D].</summary>
    public readonly Embedding tok_embed;
    /// <summary>[max_len, D].</summary>
    public readonly Parameter pos_embed;
    /// <summary>Causal blocks.</summary>
    public readonly ModuleList<TwinBlock> blocks;
    /// <summary>Final LayerNorm.</summary>
    public readonly LayerNorm norm;
    /// <summary>[vocab, D], no bias.</summary>
    public readonly Linear lm_head;
    /// <summary>Vocabulary size.</summary>
    public long Vocab { get; }
    private readonly long _dim, _heads, _layers;

    /// <summary>Builds the model (TorchSharp's default initialisation, positions N(0, 0.02)).</summary>
    public TwinGpt(long vocab = 96, long dim = 128, long layers = 4, long heads = 4, long maxLength = 96) : base(nameof(TwinGpt))
    {
        (Vocab, _dim, _heads, _layers) = (vocab, dim, heads, layers);
        tok_embed = Embedding(vocab, dim);
        pos_embed = new Parameter(randn(maxLength, dim) * 0.02f);
        blocks = ModuleList(Enumerable.Range(0, (int)layers).Select(_ => new TwinBlock(dim, heads)).ToArray());
        norm = LayerNorm(dim);
        lm_head = Linear(dim, vocab, hasBias: false);
        RegisterComponents();
    }

    /// <summary>Logits [B, T, V] for tokens [B, T] at positions pos..pos+T-1 (with a cache, keys and values are appended).</summary>
    public Tensor forward(Tensor tokens, TwinCacheLayer[]? cache = null, long pos = 0)
    {
        long t = tokens.shape[1];
        var x = tok_embed.forward(tokens) + pos_embed.narrow(0, pos, t);
        for (int i = 0; i < blocks.Count; i++) x = blocks[i].forward(x, causal: true, cache: cache?[i]);
        return lm_head.forward(norm.forward(x));
    }

    /// <summary>Mean next-token cross-entropy over every position.</summary>
    public Tensor Loss(Tensor tokens, Tensor targets) =>
        functional.cross_entropy(forward(tokens).view(-1, Vocab), targets.view(-1));

    /// <summary>Samples <paramref name="newTokens"/> tokens per row after <paramref name="prompt"/> [B, T0] with a KV cache,
    /// softmax at <paramref name="temperature"/>, multinomial (bench/torch_models.py <c>Gpt.generate</c>).</summary>
    public Tensor Generate(Tensor prompt, int newTokens, float temperature, Generator? generator = null)
    {
        using var noGrad = no_grad();
        long b = prompt.shape[0], t0 = prompt.shape[1];
        var cache = Enumerable.Range(0, (int)_layers).Select(_ => new TwinCacheLayer(b, _heads, t0 + newTokens, _dim / _heads, prompt.device)).ToArray();
        try
        {
            var output = empty([b, newTokens], ScalarType.Int64, device: prompt.device);
            var logits = forward(prompt, cache, 0).select(1, -1);
            for (int i = 0; i < newTokens; i++)
            {
                using var scope = NewDisposeScope();
                var next = multinomial((logits / temperature).softmax(-1), 1, generator: generator);
                output.select(1, i).copy_(next.select(1, 0));
                if (i + 1 < newTokens) logits = forward(next, cache, t0 + i).select(1, -1).MoveToOuterDisposeScope();
            }
            return output;
        }
        finally
        {
            foreach (var layer in cache) layer.Dispose();
        }
    }
}
