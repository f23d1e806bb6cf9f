using System.Text.Json;
using System.Text.Json.Serialization;

namespace MMEureka.Prm;

/// <summary>Which step labels the PRM learns: MM-PRM's soft Monte Carlo values, or Math-Shepherd's hard MC &gt; 0.</summary>
public enum PrmLabels
{
    /// <summary>The step's MC value in [0, 1] (MM-PRM).</summary>
    Soft,
    /// <summary>1 when MC &gt; 0, else 0 (<see cref="StepExample.HardLabels"/>).</summary>
    Hard,
}

/// <summary>
/// Training of the process reward model (PAPERS.md section 3, "PRM"): the policy network initialised from a policy
/// checkpoint, vision tower frozen, cross-entropy of the (<c>&lt;yes&gt;</c>, <c>&lt;no&gt;</c>) logits against
/// [label, 1 - label] at every <c>&lt;prm&gt;</c> tag, AdamW, cosine schedule with 3% warmup, weight decay 0.05.
/// <see cref="Outcome"/> turns it into the outcome reward model baseline (one tag after the answer, the verifier's
/// label). <see cref="ForPreset"/> is the dial (tiny: CI seconds; quick: minutes; full: the reproduction).
/// </summary>
public sealed record PrmConfig
{
    /// <summary>Preset name this config came from (recorded in the run folder).</summary>
    public string Preset { get; init; } = "quick";
    /// <summary>Soft (MC values) or hard (MC &gt; 0) step labels.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<PrmLabels>))]
    public PrmLabels Labels { get; init; } = PrmLabels.Soft;
    /// <summary>Train an outcome reward model instead: one tag after the final answer, labelled by the verifier; paths
    /// without an answer are left out.</summary>
    public bool Outcome { get; init; }
    /// <summary>Optimizer steps (the budget; the same for soft, hard and the ORM so that they compare).</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Labelled paths per step.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Peak learning rate. MM-PRM used one tenth of its SFT rate (4e-6 vs 4e-5); the lr sweep of the
    /// quick preset is in the notebook and the report.</summary>
    public double LearningRate { get; init; } = 1.5e-4;
    /// <summary>Fraction of the steps spent warming up linearly (MM-PRM: 3%).</summary>
    public double WarmupRatio { get; init; } = 0.03;
    /// <summary>Final learning rate as a fraction of the peak (0: cosine to zero, as MM-PRM's scheduler).</summary>
    public double MinLrRatio { get; init; }
    /// <summary>AdamW decoupled weight decay (MM-PRM: 0.05).</summary>
    public double WeightDecay { get; init; } = 0.05;
    /// <summary>Largest global gradient L2 norm (clipped above).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Fraction of the problems whose paths are held out for the evaluation metrics (split by problem,
    /// so no held-out path shares a question with a training path).</summary>
    public double EvalFraction { get; init; } = 0.1;
    /// <summary>Evaluate every this many steps (and at the end); 0 = only at the end.</summary>
    public int EvalEvery { get; init; } = 50;
    /// <summary>Save a checkpoint every this many steps (and at the end).</summary>
    public int CheckpointEvery { get; init; } = 100;
    /// <summary>Paths used for training and evaluation (0 = all), the first ones of steps.jsonl.</summary>
    public int MaxExamples { get; init; }
    /// <summary>Seed of the held-out split and of the data order.</summary>
    public long Seed { get; init; } = 1;
    /// <summary>Let the vision tower learn too (an ablation; MM-PRM keeps the vision encoder frozen): whether a PRM that
    /// may re-learn what it reads can spot a misread number that the policy's frozen features cannot.</summary>
    public bool TrainVision { get; init; }

    /// <summary>The settings of a preset.</summary>
    public static PrmConfig ForPreset(string preset) => preset switch
    {
        "tiny" => new PrmConfig { Preset = "tiny", Steps = 30, BatchSize = 8, EvalEvery = 15, CheckpointEvery = 15, LearningRate = 3e-4 },
        "quick" => new PrmConfig(),
        // Four times the quick budget (MM-PRM trained 3 epochs over its 700k labels).
        "full" => new PrmConfig { Preset = "full", Steps = 1200, EvalEvery = 200, CheckpointEvery = 200 },
        _ => throw new ArgumentException($"unknown preset '{preset}' (expected tiny, quick or full)"),
    };

    /// <summary>Warmup steps: <see cref="WarmupRatio"/> of <see cref="Steps"/>, at least 1.</summary>
    [JsonIgnore]
    public int WarmupSteps => Math.Max(1, (int)Math.Round(WarmupRatio * Steps));

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public PrmConfig Validate()
    {
        void Positive(double v, string name) { if (!(v > 0)) throw new ArgumentException($"prm {name} must be positive, got {v}"); }
        Positive(Steps, "steps"); Positive(BatchSize, "batch_size"); Positive(LearningRate, "lr");
        Positive(GradClip, "grad_clip"); Positive(CheckpointEvery, "checkpoint_every");
        if (WarmupRatio is < 0 or >= 1 || double.IsNaN(WarmupRatio)) throw new ArgumentException($"prm warmup_ratio must be in [0, 1), got {WarmupRatio}");
        if (MinLrRatio is < 0 or > 1 || double.IsNaN(MinLrRatio)) throw new ArgumentException($"prm min_lr_ratio must be in [0, 1], got {MinLrRatio}");
        if (EvalFraction is < 0 or >= 1 || double.IsNaN(EvalFraction)) throw new ArgumentException($"prm eval_fraction must be in [0, 1), got {EvalFraction}");
        if (WeightDecay < 0 || double.IsNaN(WeightDecay)) throw new ArgumentException($"prm weight_decay must be >= 0, got {WeightDecay}");
        if (EvalEvery < 0) throw new ArgumentException($"prm eval_every must be >= 0, got {EvalEvery}");
        if (MaxExamples < 0) throw new ArgumentException($"prm max_examples must be >= 0, got {MaxExamples}");
        return this;
    }

    /// <summary>The config as indented JSON (run folder's config.json), with the data and initial checkpoint it was
    /// trained from, so that a resume with other inputs is refused.</summary>
    public string ToJson(string data, string init)
    {
        var node = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        // Written only when on, so that run folders made before the switch existed still match on resume.
        if (!TrainVision) node.Remove("train_vision");
        node["data"] = Path.GetFullPath(data);
        node["init"] = Path.GetFullPath(init);
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
