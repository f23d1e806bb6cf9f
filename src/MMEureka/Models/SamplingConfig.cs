namespace MMEureka.Models;

/// <summary>
/// How the sampler picks each next token. Temperature 0 (or below) is greedy. Top-k 0 and top-p 1 switch those
/// filters off. Generation stops at <c>&lt;/answer&gt;</c>, <c>&lt;eos&gt;</c> or after <see cref="MaxNewTokens"/>
/// (or when the model's text window is full).
/// </summary>
public sealed record SamplingConfig
{
    /// <summary>Softmax temperature; 0 means greedy (argmax).</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Keep only the k most likely tokens (0 = all).</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p (1 = all).</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>Most tokens generated per row.</summary>
    public int MaxNewTokens { get; init; } = 160;
    /// <summary>Seed of the draws; row r of a batch draws from its own stream derived from (seed, r).</summary>
    public long Seed { get; init; }

    /// <summary>Greedy decoding.</summary>
    public static SamplingConfig Greedy(int maxNewTokens = 160) => new() { Temperature = 0, MaxNewTokens = maxNewTokens };

    /// <summary>True when the next token is the argmax.</summary>
    public bool IsGreedy => Temperature <= 0;

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public SamplingConfig Validate()
    {
        if (TopK < 0) throw new ArgumentException($"sampling top_k must be >= 0, got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"sampling top_p must be in (0, 1], got {TopP}");
        if (MaxNewTokens <= 0) throw new ArgumentException($"sampling max_new_tokens must be positive, got {MaxNewTokens}");
        if (float.IsNaN(Temperature)) throw new ArgumentException("sampling temperature is NaN");
        return this;
    }
}
