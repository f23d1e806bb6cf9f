using MMEureka.Torch;
using MMEureka.Torch.Modules;
using static MMEureka.Torch.torch;

namespace MMEureka.Cli.Bench;

/// <summary>Shape of the benchmark GPT; the defaults are the model of bench/torch_reference.py.</summary>
public sealed record BenchGptConfig(int Vocab = 96, int Dim = 128, int Layers = 4, int Heads = 4, int MaxLength = 96)
{
    /// <summary>Floating-point operations of one training step on <paramref name="batch"/> rows of MaxLength tokens,
    /// counting the matrix products only (2 per multiply-add) and attention's full T x T scores as an unmasked
    /// implementation computes them: per layer the four linear layers 2 N 12 D^2 (N = batch * T) and attention's two
    /// products 4 batch T^2 D, plus the head 2 N D V; the backward twice the forward (input and weight gradients).
    /// 16.5 GFLOP for the benchmark's 32 x 96 tokens. Divided by a step's time it gives the step's GFLOP/s.</summary>
    public double TrainStepFlops(int batch)
    {
        double n = (double)batch * MaxLength, d = Dim;
        double forward = Layers * (2 * n * 12 * d * d + 4.0 * batch * MaxLength * MaxLength * d) + 2 * n * d * Vocab;
        return 3 * forward;
    }
}

/// <summary>
/// The GPT that <c>mmeureka bench engine</c> trains and samples, the twin of <c>Gpt</c> in bench/torch_models.py
/// name for name: <c>tok_embed</c>, a learned <c>pos_embed</c> [T, D], pre-LN <see cref="TransformerBlock"/>s,
/// final LayerNorm <c>norm</c>, bias-free <c>lm_head</c>.
/// </summary>
public sealed class BenchGpt : nn.Module
{
    public readonly Embedding tok_embed;
    public readonly Tensor pos_embed;
    public readonly ModuleList<TransformerBlock> blocks;
    public readonly LayerNorm norm;
    public readonly Linear lm_head;
    public BenchGptConfig Config { get; }

    public BenchGpt(BenchGptConfig config)
    {
        Config = config;
        tok_embed = nn.Embedding(config.Vocab, config.Dim);
        pos_embed = nn.Parameter(randn(config.MaxLength, config.Dim).mul(0.02f));
        blocks = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => nn.TransformerBlock(config.Dim, config.Heads)).ToArray());
        norm = nn.LayerNorm(config.Dim);
        lm_head = nn.Linear(config.Dim, config.Vocab, hasBias: false);
        RegisterComponents();
    }

    /// <summary>Hidden states [B, T, D] after the final norm for token ids [B, T] at positions pos..pos+T-1
    /// (with <paramref name="cache"/> the new keys/values are appended to it).</summary>
    public Tensor Hidden(int[] ids, int batch, int length, KVCache? cache = null, int pos = 0)
    {
        var x = tok_embed.forward(ids, batch, length) + pos_embed.narrow(0, pos, length);
        for (int i = 0; i < blocks.Count; i++) x = blocks[i].forward(x, causal: true, cache: cache?[i]);
        return norm.forward(x);
    }

    /// <summary>Logits [B, T, V].</summary>
    public Tensor forward(int[] ids, int batch, int length) => lm_head.forward(Hidden(ids, batch, length));

    /// <summary>Mean next-token cross-entropy over all positions of [B, T] inputs and targets.</summary>
    public Tensor Loss(int[] ids, int[] targets, int batch, int length)
        => nn.functional.cross_entropy(forward(ids, batch, length).view(batch * length, Config.Vocab), targets);

    /// <summary>Rows per shard when sampling: a batch of 64 runs as two shards of 32 rows, each on its own core with
    /// single-threaded ops (<see cref="torch.parallel_shards"/>). Fixed rather than derived from the core count, so
    /// that the same seed gives the same tokens on any machine.</summary>
    public const int ShardRows = 32;

    /// <summary>Samples <paramref name="newTokens"/> tokens per row after <paramref name="prompt"/> [B, T0] with a KV
    /// cache, softmax at <paramref name="temperature"/>, multinomial; returns [B, newTokens] ids row-major. Shards of
    /// <see cref="ShardRows"/> rows run the model in parallel, each with its own cache; the draws then take the rows
    /// in order from the one generator, as a single multinomial over the whole batch would.</summary>
    public int[] Generate(int[] prompt, int batch, int newTokens, float temperature, Generator generator)
    {
        using var _ = inference_mode(); // as MiniVlm's sampler: weights packed once per call
        int t0 = prompt.Length / batch, hd = Config.Dim / Config.Heads, vocab = Config.Vocab;
        int shards = (batch + ShardRows - 1) / ShardRows;
        var caches = new KVCache[shards];
        for (int s = 0; s < shards; s++)
            caches[s] = new KVCache(Config.Layers, Math.Min(ShardRows, batch - s * ShardRows), Config.Heads, t0 + newTokens, hd);
        var probs = new float[batch * vocab];
        var output = new int[batch * newTokens];
        int[] input = prompt;
        int length = t0, pos = 0;
        for (int i = 0; i < newTokens; i++)
        {
            parallel_shards(shards, s =>
            {
                int r0 = s * ShardRows, rows = caches[s].batch_size;
                // Only the last position's logits are needed, so the head runs on that row alone.
                var hidden = Hidden(input[(r0 * length)..((r0 + rows) * length)], rows, length, caches[s], pos).select(1, -1);
                var p = lm_head.forward(hidden).div(temperature).softmax(-1).data<float>();
                Array.Copy(p, 0, probs, r0 * vocab, p.Length);
            });
            var drawn = multinomial(tensor(probs, batch, vocab), 1, generator: generator).data<int>();
            for (int b = 0; b < batch; b++) output[b * newTokens + i] = drawn[b];
            (input, pos, length) = (drawn, pos + length, 1);
        }
        return output;
    }
}
