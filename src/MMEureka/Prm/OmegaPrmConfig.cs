using System.Text.Json;

namespace MMEureka.Prm;

/// <summary>
/// Settings of the OmegaPRM-style step annotator (PAPERS.md section 3). The search constants default to MM-PRM's
/// released values; the rollout count, budgets and length scale are the preset dial (tiny: CI seconds; quick: a
/// first dataset for the PRM in about 20 minutes; full: MM-PRM's own k and caps).
/// </summary>
public sealed record OmegaPrmConfig
{
    /// <summary>Preset name this config came from (recorded in the run folder).</summary>
    public string Preset { get; init; } = "quick";
    /// <summary>Rollouts per Monte Carlo estimate (MM-PRM: 16; Math-Shepherd: 8).</summary>
    public int K { get; init; } = 16;
    /// <summary>Q's base for the MC value: alpha^(1 - MC) (MM-PRM's run_data_pipeline.py: 0.5).</summary>
    public double Alpha { get; init; } = 0.5;
    /// <summary>Q's base for the rollout length: beta^(len / L) (MM-PRM: 0.9).</summary>
    public double Beta { get; init; } = 0.9;
    /// <summary>
    /// L, the length scale in Q, in tokens of the continuation. MM-PRM: 500 words (its shell script: 2000) for
    /// rollouts of a few hundred words, i.e. about one or two whole solutions; a whole MiniK12 response is about 80
    /// tokens, so 100 keeps beta^(len/L) in the same range (0.9 for a whole solution, near 1 for one step).
    /// </summary>
    public double LengthScale { get; init; } = 100;
    /// <summary>c_puct, the weight of the exploration term U (MM-PRM: 0.125).</summary>
    public double CPuct { get; init; } = 0.125;
    /// <summary>Most binary searches per problem (MM-PRM: 20 in run_data_pipeline.py, 200 in its shell script).</summary>
    public int MaxSearches { get; init; } = 20;
    /// <summary>Rollouts per problem after which no new search starts, the root screen included (MM-PRM: 200 / 1000).</summary>
    public int RolloutBudget { get; init; } = 200;
    /// <summary>Sampling temperature of the rollouts (MM-PRM's shell script: 1.0).</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Top-k filter of the rollouts (MM-PRM: 50; our vocabulary has 106 tokens, so 0 = off).</summary>
    public int TopK { get; init; }
    /// <summary>Top-p filter of the rollouts (MM-PRM: 0.9).</summary>
    public float TopP { get; init; } = 0.9f;
    /// <summary>Most tokens per rollout: the longest gold response of the 10,000 train problems has 96 tokens
    /// (median 53), so a rollout still going at 112 is rambling, and a cut-off rollout counts as wrong.</summary>
    public int MaxNewTokens { get; init; } = 112;
    /// <summary>Train problems annotated, from the start of the split (0 = all).</summary>
    public int Problems { get; init; }
    /// <summary>Problems searched side by side, so that their rollouts share one sampling batch.</summary>
    public int Concurrency { get; init; } = 48;
    /// <summary>Most rows (rollouts) per call of the sampler: the sampler copies its whole KV cache whenever rows
    /// stop, so very wide calls spend their time copying.</summary>
    public int BatchRows { get; init; } = 128;
    /// <summary>
    /// Training paths whose text (steps and answer) has fewer characters than this are dropped: MM-PRM drops paths
    /// of 10 words or fewer, about one of its steps; one MiniK12 step is about 12 characters.
    /// </summary>
    public int MinPathChars { get; init; } = 12;
    /// <summary>Seed of the rollouts and of the positive/negative balancing.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>The settings of a preset.</summary>
    public static OmegaPrmConfig ForPreset(string preset) => preset switch
    {
        "tiny" => new OmegaPrmConfig
        {
            Preset = "tiny", K = 4, MaxSearches = 2, RolloutBudget = 24, Problems = 12, Concurrency = 12, MaxNewTokens = 96,
        },
        // Quick: the target is 20,000 step labels from 1,500 kept problems in 20 minutes on 2 shared cores, where
        // sampling runs at about 2,000 tokens/s (model throughput, batch 64, load 13). That is about 35 rollouts/s,
        // 40,000 in 20 minutes. k = 8 (Math-Shepherd's value) halves MM-PRM's cost per estimate; the root screen
        // keeps roughly 40% of problems, so about 3,700 problems are screened (30,000 rollouts), and three searches
        // of about 2 estimates each (48 rollouts, budget 56 with the screen) give the labels of a kept problem.
        // Measured 2026-11-29 (SFT step-800 policy, load average 55-100 on 2 cores): 56% of questions kept, 2.70
        // rollouts per step label, 18.6 labels per kept question; 8.3 rollouts/s, so 717 questions and 7,448 labels
        // in 26.5 min. The 20,000-label target needs about 54,000 rollouts, about 45 rollouts/s: an unloaded machine.
        // Measured 2026-11-29 on an unloaded machine (finished quick SFT policy, load 2.6): all 3,700 questions, 2,511
        // kept, 31,153 step labels, 138,656 rollouts at 172 rollouts/s in 13.4 min (13.6 min with the 100-solution
        // per-step comparison).
        "quick" => new OmegaPrmConfig { Preset = "quick", K = 8, MaxSearches = 3, RolloutBudget = 56, Problems = 3700 },
        // Full: MM-PRM's released run_data_pipeline.py defaults on every train problem.
        "full" => new OmegaPrmConfig { Preset = "full", K = 16, MaxSearches = 20, RolloutBudget = 200, Problems = 0 },
        _ => throw new ArgumentException($"unknown preset '{preset}' (expected tiny, quick or full)"),
    };

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public OmegaPrmConfig Validate()
    {
        if (K < 1) throw new ArgumentException($"annotate k must be at least 1, got {K}");
        if (!(Alpha > 0 && Alpha <= 1)) throw new ArgumentException($"annotate alpha must be in (0, 1], got {Alpha}");
        if (!(Beta > 0 && Beta <= 1)) throw new ArgumentException($"annotate beta must be in (0, 1], got {Beta}");
        if (!(LengthScale > 0)) throw new ArgumentException($"annotate length_scale must be positive, got {LengthScale}");
        if (!(CPuct >= 0)) throw new ArgumentException($"annotate c_puct must be >= 0, got {CPuct}");
        if (MaxSearches < 0) throw new ArgumentException($"annotate max_searches must be >= 0, got {MaxSearches}");
        if (RolloutBudget < 0) throw new ArgumentException($"annotate rollout_budget must be >= 0, got {RolloutBudget}");
        if (Problems < 0) throw new ArgumentException($"annotate problems must be >= 0, got {Problems}");
        if (Concurrency < 1) throw new ArgumentException($"annotate concurrency must be at least 1, got {Concurrency}");
        if (BatchRows < 1) throw new ArgumentException($"annotate batch_rows must be at least 1, got {BatchRows}");
        if (MinPathChars < 0) throw new ArgumentException($"annotate min_path_chars must be >= 0, got {MinPathChars}");
        if (MaxNewTokens < 1) throw new ArgumentException($"annotate max_new_tokens must be at least 1, got {MaxNewTokens}");
        if (float.IsNaN(Temperature) || Temperature <= 0) throw new ArgumentException($"annotate temperature must be positive (rollouts must differ), got {Temperature}");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"annotate top_p must be in (0, 1], got {TopP}");
        if (TopK < 0) throw new ArgumentException($"annotate top_k must be >= 0, got {TopK}");
        return this;
    }

    /// <summary>The config as indented JSON (run folder's config.json).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
}
