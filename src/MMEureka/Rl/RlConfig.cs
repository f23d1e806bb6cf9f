using System.Text.Json;
using System.Text.Json.Serialization;

namespace MMEureka.Rl;

/// <summary>
/// One RL run: the recipe (objective, advantage estimator, aggregation, filter) and the budget. One rollout batch
/// per step: <see cref="PromptsPerStep"/> prompts x <see cref="GroupSize"/> responses, trained as
/// <see cref="MiniBatches"/> optimizer steps per epoch, so the ratio leaves 1 from the second minibatch on (the
/// released code trains 1024 responses as 8 steps). <see cref="ForAlgo"/> gives the papers' recipes, each a
/// <c>with</c> expression on one preset base.
/// </summary>
public sealed record RlConfig
{
    /// <summary>Preset the budget came from (tiny: CI seconds; quick: minutes; full; stress: CPGD's unstable regime).</summary>
    public string Preset { get; init; } = "quick";
    /// <summary>Recipe name (grpo, mm_eureka, cpgd, rloo, reinforce_pp, dr_grpo, pg, pgd, cpg, dual_clip, no_clip).</summary>
    public string Algo { get; init; } = "grpo";
    /// <summary>Per-token objective.</summary>
    public PolicyObjective Objective { get; init; } = PolicyObjective.PpoClip;
    /// <summary>Advantage estimator.</summary>
    public AdvantageEstimator Estimator { get; init; } = AdvantageEstimator.GroupNorm;
    /// <summary>How per-token losses are averaged. Released MM-Eureka/CPGD code: the mean of per-sequence means.</summary>
    public LossAggregation Aggregation { get; init; } = LossAggregation.SeqMean;
    /// <summary>Clip ranges, drift and reference KL.</summary>
    public LossSettings Loss { get; init; } = new();
    /// <summary>CPGD's c_omega for the clip-filter-like weight.</summary>
    public double COmega { get; init; } = 3.0;
    /// <summary>MM-Eureka's online accuracy filter on or off.</summary>
    public bool Filter { get; init; }
    /// <summary>The filter's lowest kept mean accuracy (inclusive).</summary>
    public double FilterLow { get; init; } = 0.1;
    /// <summary>The filter's highest kept mean accuracy (inclusive).</summary>
    public double FilterHigh { get; init; } = 0.9;
    /// <summary>Most sampling rounds per step when the filter rejects groups (each round draws
    /// <see cref="PromptsPerStep"/> new prompts); the batch trains on what was kept by then.</summary>
    public int MaxFilterRounds { get; init; } = 4;

    /// <summary>Rollout batches (one per step).</summary>
    public int Steps { get; init; } = 80;
    /// <summary>Prompts per rollout batch.</summary>
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>Responses per prompt (G).</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>Optimizer steps per epoch over the rollout batch.</summary>
    public int MiniBatches { get; init; } = 2;
    /// <summary>Passes over each rollout batch.</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>CPGD's truncated importance weight for epochs &gt; 1: A &lt;- clip(pi_{m-1} / pi_old, 1-eps, 1+eps) A,
    /// with pi_{m-1} (the policy when the epoch starts) as the old policy of the loss.</summary>
    public bool TruncatedIs { get; init; } = true;

    /// <summary>AdamW learning rate (constant; the papers use no warmup). The right rate depends on how far SFT went.
    /// From the finished quick SFT policy (35.8% greedy test, 500 problems), 80 quick GRPO steps ended at 29.8% with
    /// 1e-4, 36.8% with 2e-5 and 35.6% with 1e-5 (CPGD at 1e-4: as GRPO, the ratio stays near 1). From the weaker
    /// step-800 snapshot (18.0%), 1e-4 gave 23.4%, 3e-4 17.4%. 2e-5 is the rate that did no harm from the finished
    /// policy, which is what every stage after SFT starts from.</summary>
    public double LearningRate { get; init; } = 2e-5;
    /// <summary>AdamW decoupled weight decay (MM-Eureka: 0.01).</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Largest global gradient norm.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Sampling temperature (the papers: 1).</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Longest response sampled (Dr. GRPO's generation cap too).</summary>
    public int MaxNewTokens { get; init; } = 160;

    /// <summary>Greedy evaluation every this many steps (and at step 0 and the end); 0 = start and end only.</summary>
    public int EvalEvery { get; init; } = 20;
    /// <summary>Test (and OOD) problems evaluated (the first ones of each split).</summary>
    public int EvalProblems { get; init; } = 200;
    /// <summary>Also evaluate the OOD split.</summary>
    public bool EvalOod { get; init; } = true;
    /// <summary>Checkpoint every this many steps (and at the end).</summary>
    public int CheckpointEvery { get; init; } = 20;
    /// <summary>Responses per step written to samples.jsonl.</summary>
    public int SamplesLogged { get; init; } = 4;
    /// <summary>Train problems used (0 = all).</summary>
    public int TrainProblems { get; init; }
    /// <summary>Let the vision tower learn too. Off in every recipe (MM-Eureka keeps the vision encoder frozen); on,
    /// it asks whether RL can improve what the policy reads from the image, not only what it does with it.</summary>
    public bool TrainVision { get; init; }
    /// <summary>Seed of prompt order, sampling and minibatch order.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>The budget of a preset, with the GRPO recipe.</summary>
    public static RlConfig ForPreset(string preset) => preset switch
    {
        "tiny" => new RlConfig
        {
            Preset = "tiny", Steps = 3, PromptsPerStep = 4, GroupSize = 4, MiniBatches = 2, MaxNewTokens = 96,
            EvalEvery = 0, EvalProblems = 16, CheckpointEvery = 2, LearningRate = 1e-4, MaxFilterRounds = 2,
        },
        "quick" => new RlConfig(),
        "full" => new RlConfig { Preset = "full", Steps = 400, PromptsPerStep = 16, MiniBatches = 4, EvalEvery = 50, EvalProblems = 500, CheckpointEvery = 50 },
        "stress" => Stress,
        _ => throw new ArgumentException($"unknown preset '{preset}' (expected {string.Join(", ", Presets)})"),
    };

    /// <summary>The preset names <see cref="ForPreset"/> knows.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["tiny", "quick", "full", "stress"];

    // CPGD's unstable regime at toy scale: the ingredients the paper names (no filter, large updates, several epochs)
    // pushed as far as this machine's time allows. 4 prompts x 8 responses trained as 4 one-group minibatches x 4
    // epochs = 16 AdamW steps per rollout batch at 10x the quick preset's learning rate; the baselines' later epochs
    // use pi_old as plain PPO does (truncated_is off; the cpgd recipe turns it back on). 100 test + 100 OOD problems
    // every 5 steps. A first try with 8 prompts per step at lr 1e-4 took 150-265 s of training per step (load ~90 on
    // 2 cores) and was cut to 4 prompts to fit 15 steps in half an hour.
    // Measured (init runs/sft-quick/checkpoint, 37% on 100 test problems; quiet machine, about a minute per run):
    // the ratio spikes reproduce (largest ratio over seeds 1-3: grpo 118-6386, rloo 236-9234, reinforce_pp 367-860,
    // no_clip 2160-11050, cpgd 6-39); the accuracy collapse does not separate the recipes: final test accuracy, mean
    // of 3 seeds, grpo 22%, rloo 21%, reinforce_pp 22%, no_clip 14%, cpgd 18%. The same preset at smaller rates
    // (seeds 1-2), grpo / no_clip / cpgd: lr 2e-5 31.5 / 27.5 / 27.5%, 5e-5 26 / 25.5 / 28.5%, 1e-4 27 / 20 / 19%.
    // With minibatches of one group, Adam's lr-sized steps degrade the policy under every objective before the ratio
    // matters; notebook 04 has the details. All nine algorithms (session 7): final accuracy 7% (pg) to 22% (grpo),
    // every run collapsed. Tried as well: 8 prompts as one minibatch x 8 epochs at lr 5e-5 (10 steps, seed 1): grpo
    // 31%, no_clip 30% (ratio 1,070), cpgd 29%: less damage, still no separation.
    private static RlConfig Stress => new()
    {
        Preset = "stress", Steps = 15, PromptsPerStep = 4, GroupSize = 8, MiniBatches = 4, Epochs = 4, TruncatedIs = false,
        LearningRate = 2e-4, EvalEvery = 5, EvalProblems = 100, CheckpointEvery = 5,
    };

    /// <summary>The recipe names <see cref="ForAlgo"/> knows.</summary>
    public static IReadOnlyList<string> Algos { get; } =
        ["grpo", "mm_eureka", "cpgd", "rloo", "reinforce_pp", "dr_grpo", "pg", "pgd", "cpg", "dual_clip", "no_clip"];

    /// <summary>A paper recipe on a preset's budget.</summary>
    public static RlConfig ForAlgo(string algo, string preset = "quick")
    {
        var b = ForPreset(preset) with { Algo = algo };
        return algo switch
        {
            // CPGD's "GRPO" baseline: plain PPO-clip on the ratio with group_norm advantages.
            "grpo" => b,
            // MM-Eureka's released code: ratio clamped at 3 before PPO-clip (= dual clip, c 3), online filter on.
            "mm_eureka" => b with { Objective = PolicyObjective.DualClip, Filter = true },
            // CPGD's released recipe: clipped log-ratio + drift 0.01 (c 2), STD omega, no filter, no reference KL.
            // With epochs > 1 it keeps the paper's truncated importance weight even where the preset (stress) turns it off
            // for the baselines, which train their later epochs against pi_old as plain PPO does.
            "cpgd" => b with { Objective = PolicyObjective.Cpgd, Estimator = AdvantageEstimator.CpgdStd, TruncatedIs = true },
            "rloo" => b with { Estimator = AdvantageEstimator.Rloo },
            "reinforce_pp" => b with { Estimator = AdvantageEstimator.ReinforceBaseline },
            // Dr. GRPO: R - mean, loss summed over tokens and divided by responses x generation cap.
            "dr_grpo" => b with { Estimator = AdvantageEstimator.DrGrpo, Aggregation = LossAggregation.Constant },
            // CPGD's ablation family, all on the STD advantage.
            "pg" => b with { Objective = PolicyObjective.Pg, Estimator = AdvantageEstimator.CpgdStd },
            "pgd" => b with { Objective = PolicyObjective.Pgd, Estimator = AdvantageEstimator.CpgdStd },
            "cpg" => b with { Objective = PolicyObjective.Cpg, Estimator = AdvantageEstimator.CpgdStd },
            "dual_clip" => b with { Objective = PolicyObjective.DualClip },
            "no_clip" => b with { Objective = PolicyObjective.NoClip },
            _ => throw new ArgumentException($"unknown algo '{algo}' (expected one of {string.Join(", ", Algos)})"),
        };
    }

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public RlConfig Validate()
    {
        Loss.Validate();
        void Positive(double v, string name) { if (!(v > 0)) throw new ArgumentException($"rl {name} must be positive, got {v}"); }
        Positive(Steps, "steps"); Positive(PromptsPerStep, "prompts_per_step"); Positive(GroupSize, "group_size");
        Positive(MiniBatches, "mini_batches"); Positive(Epochs, "epochs"); Positive(LearningRate, "lr");
        Positive(GradClip, "grad_clip"); Positive(MaxNewTokens, "max_new_tokens"); Positive(CheckpointEvery, "checkpoint_every");
        Positive(MaxFilterRounds, "max_filter_rounds"); Positive(COmega, "c_omega");
        if (GroupSize < 2) throw new ArgumentException($"rl group_size must be at least 2 (advantages compare responses within a group), got {GroupSize}");
        if (MiniBatches > PromptsPerStep) throw new ArgumentException($"rl mini_batches ({MiniBatches}) cannot exceed prompts_per_step ({PromptsPerStep}): a minibatch holds whole groups");
        if (!(Temperature > 0)) throw new ArgumentException($"rl temperature must be positive, got {Temperature}");
        if (EvalEvery < 0 || EvalProblems < 0 || TrainProblems < 0 || WeightDecay < 0 || SamplesLogged < 0)
            throw new ArgumentException("rl eval_every, eval_problems, train_problems, weight_decay and samples_logged must be >= 0");
        if (!(FilterLow >= 0 && FilterLow <= FilterHigh && FilterHigh <= 1))
            throw new ArgumentException($"rl filter range must satisfy 0 <= low <= high <= 1, got [{FilterLow}, {FilterHigh}]");
        return this;
    }

    /// <summary>
    /// The flags of MM-EUREKA's OpenRLHF fork (<c>train_ppo_ray</c>) that carry this recipe to GPUs, with the scale
    /// settings (batch sizes, learning rate, lengths) left as they are here: a user rescales them for a real model.
    /// Lines starting with # say what has no flag.
    /// </summary>
    public IReadOnlyList<string> OpenRlhfFlags()
    {
        var f = new List<string>
        {
            "--advantage_estimator " + (Estimator switch
            {
                AdvantageEstimator.Rloo => "rloo",
                AdvantageEstimator.ReinforceBaseline => "reinforce_baseline",
                AdvantageEstimator.GroupNorm or AdvantageEstimator.CpgdStd => "group_norm",
                _ => "cpgd",
            }),
            $"--n_samples_per_prompt {GroupSize}",
            $"--rollout_batch_size {PromptsPerStep}",
            $"--train_batch_size {PromptsPerStep * GroupSize / MiniBatches}",
            $"--max_epochs {Epochs}",
            $"--actor_learning_rate {LearningRate:G3}",
            $"--temperature {Temperature:G3}",
            $"--generate_max_len {MaxNewTokens}",
            $"--eps_clip {Loss.Eps:G3}",
        };
        if (Objective is PolicyObjective.Cpg or PolicyObjective.Cpgd) f.Add("--use_cpg_loss");
        if (Objective is PolicyObjective.Cpgd or PolicyObjective.Pgd) f.Add($"--use_policy_drift --policy_drift_coef {Loss.DriftAlpha:G3}");
        if (Estimator == AdvantageEstimator.CpgdClipFilterLike) f.Add("--use_clip_filter_like_weight");
        if (Filter) f.Add($"--enable_accuracy_filter --accuracy_lower_bound {FilterLow:G3} --accuracy_upper_bound {FilterHigh:G3}");
        if (Loss.KlCoef > 0) f.Add($"--init_kl_coef {Loss.KlCoef:G3} --use_kl_loss --kl_estimator {Loss.KlEstimator.ToString().ToLowerInvariant()}");
        else f.Add("--init_kl_coef 0");
        if (!TrainVision)
        {
            f.Add("--freeze_prefix visual");
            f.Add("# --freeze_prefix keeps the vision tower frozen; its value depends on the model's parameter names");
        }
        if (Objective == PolicyObjective.DualClip) f.Add($"# dual clip: MM-EUREKA's loss clamps the ratio at {Loss.DualClipC:G3} itself (no flag)");
        if (Objective is PolicyObjective.NoClip or PolicyObjective.Pg or PolicyObjective.Pgd) f.Add($"# objective {Objective}: no flag in the fork; it is an ablation of this project");
        if (Aggregation != LossAggregation.SeqMean) f.Add($"# aggregation {Aggregation}: the fork averages token means per sequence");
        return f;
    }

    /// <summary>config.json's serializer settings (snake_case, enums by name).</summary>
    internal static JsonSerializerOptions JsonOptions => Json;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The config as indented JSON (run folder's config.json; enums by name).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
