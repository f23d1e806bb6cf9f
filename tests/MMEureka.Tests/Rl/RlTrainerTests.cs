using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Rl;
using MMEureka.Runs;
using MMEureka.Sft;
using MMEureka.Tests.Models;

namespace MMEureka.Tests.Rl;

public sealed class RlTrainerTests : IDisposable
{
    private static readonly Problem[] Train = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 5, Train: 24), Split.Train);
    private static readonly Problem[] Test = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 5, Test: 4), Split.Test);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mmeureka-rl-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    // A tiny policy after a few SFT steps: it writes the tags often enough that rewards differ within groups, so
    // advantages, losses and updates are not all zero (an untrained model earns 0 everywhere). Trained once.
    private static readonly Lazy<string> Sft = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "mmeureka-rl-init-" + Guid.NewGuid().ToString("N"));
        var c = SftConfig.ForPreset("tiny") with
        {
            Model = TestModels.Tiny with { MaxTextLen = 192 }, Steps = 60, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 5,
            EvalEvery = 0, EvalProblems = 0, CheckpointEvery = 60, Vision = new VisionPretrainConfig(), VisionLrScale = 1,
        };
        new SftTrainer(c, Train, Test, dir).Run();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return Path.Combine(dir, "checkpoint");
    });

    private static string Init() => Sft.Value;

    private static RlConfig Tiny(string algo = "grpo", int steps = 4) => RlConfig.ForAlgo(algo, "tiny") with
    {
        Steps = steps, PromptsPerStep = 4, GroupSize = 4, MiniBatches = 2, MaxNewTokens = 120, EvalEvery = 2, EvalProblems = 2,
        CheckpointEvery = 2, LearningRate = 1e-3,
    };

    private RlTrainer Trainer(RlConfig c, string name) => new(c, Init(), Train, Test, Test, Path.Combine(_root, name));

    private static List<string> MetricsWithoutTimes(string path) =>
        File.ReadAllLines(path).Select(l =>
        {
            var o = JsonNode.Parse(l)!.AsObject();
            foreach (var key in o.Select(kv => kv.Key).Where(k => k.StartsWith("time_")).ToList()) o.Remove(key);
            return o.ToJsonString();
        }).ToList();

    [Fact]
    public void ResumedRunWritesTheSameMetricsAsAnUninterruptedOne()
    {
        var c = Tiny(steps: 4) with { Epochs = 2 };
        var whole = Trainer(c, "whole");
        whole.Run();
        var part = Trainer(c, "part");
        part.Run(stopAfter: 2);
        var resumed = Trainer(c, "part");
        resumed.Run(resume: true);
        Assert.Equal(MetricsWithoutTimes(whole.Folder.MetricsPath), MetricsWithoutTimes(resumed.Folder.MetricsPath));
        Assert.Equal(File.ReadAllText(whole.Folder.SamplesPath), File.ReadAllText(resumed.Folder.SamplesPath));
        // Time keys are the only difference, and each step line has them.
        Assert.All(File.ReadAllLines(whole.Folder.MetricsPath).Where(l => l.Contains("\"reward\"")), l => Assert.Contains("time_sampling", l));
    }

    [Fact]
    public void ProfileTimesSplitTheTrainingTime()
    {
        var t = Trainer(Tiny(steps: 2), "times");
        t.Run();
        var m = RunFolder.ReadMetrics(t.Folder.MetricsPath);
        foreach (int step in new[] { 1, 2 })
        {
            var line = m.Where(r => r.step == step && r.key.StartsWith("time_", StringComparison.Ordinal)).ToDictionary(r => r.key, r => r.value);
            Assert.True(line["time_logprobs"] > 0 && line["time_update"] > 0, string.Join(", ", line));
            Assert.True(line["time_logprobs"] + line["time_update"] <= line["time_training"], string.Join(", ", line));
        }
        Assert.Contains(m, r => r.key == "time_eval" && r.value > 0);
    }

    [Fact]
    public void SamplingLogProbsAgreeWithTheTeacherForcedRecomputation()
    {
        var t = Trainer(Tiny(steps: 2), "mismatch");
        t.Run();
        var mismatch = RunFolder.ReadMetrics(t.Folder.MetricsPath).Where(r => r.key == "logprob_mismatch_max").ToList();
        Assert.Equal(2, mismatch.Count);
        Assert.All(mismatch, m => Assert.InRange(m.value, 0, 1e-4));
    }

    [Fact]
    public void RewardsDifferWithinGroupsAndTheSecondMinibatchLeavesRatioOne()
    {
        var t = Trainer(Tiny(steps: 2), "ratio");
        t.Run();
        var m = RunFolder.ReadMetrics(t.Folder.MetricsPath).Where(r => r.step >= 1 && r.key is "frac_reward_zero_std" or "ratio_max" or "ratio_min" or "advantage_abs_mean").ToList();
        // Some group has unequal rewards (else nothing here is tested), and after the first of two AdamW steps the
        // second minibatch's tokens are scored by changed weights.
        Assert.Contains(m, r => r.key == "frac_reward_zero_std" && r.value < 1);
        Assert.Contains(m, r => r.key == "advantage_abs_mean" && r.value > 0.1);
        Assert.Contains(m, r => (r.key == "ratio_max" && r.value > 1.001) || (r.key == "ratio_min" && r.value < 0.999));
    }

    [Fact]
    public void NonFiniteLossStopsWithTheStepAndKeepsTheLastGoodCheckpoint()
    {
        var t = Trainer(Tiny(steps: 4), "nan");
        var result = t.Run(progress: p =>
        {
            if (p.Step == 2) using (Torch.torch.no_grad()) t.Model.text.norm.weight!.fill_(float.NaN);
        });
        Assert.Equal(2, result.Step);
        Assert.Contains("at step 3", result.Stopped);
        Assert.Contains("\"step\":2", File.ReadAllText(t.Folder.TrainerStatePath));
        Assert.All(MiniVlm.Load(t.Folder.CheckpointDir).text.norm.weight!.data<float>(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void FilterKeepsOnlyInformativeGroupsAndCountsTheRest()
    {
        // The tiny policy never answers right: every group has accuracy 0 and is filtered, so no update happens.
        var c = Tiny(steps: 1) with { Filter = true, MaxFilterRounds = 2 };
        var t = Trainer(c, "filter");
        var before = t.Model.text.blocks[0].attn.qkv.weight.data<float>().ToArray();
        t.Run();
        var m = RunFolder.ReadMetrics(t.Folder.MetricsPath).Where(r => r.step == 1).ToDictionary(r => r.key, r => r.value);
        Assert.Equal(0, m["groups_kept"]);
        Assert.Equal(8, m["groups_filtered"]); // 2 rounds x 4 prompts
        Assert.Equal(2, m["sampling_rounds"]);
        Assert.Equal(1, m["skipped"]);
        Assert.Equal(before, t.Model.text.blocks[0].attn.qkv.weight.data<float>());
    }

    [Fact]
    public void VisionTowerStaysFrozen()
    {
        var t = Trainer(Tiny(steps: 2) with { Objective = PolicyObjective.NoClip }, "frozen");
        var vision = t.Model.vision.patch_embed.weight.data<float>().ToArray();
        var text = t.Model.lm_head.weight.data<float>().ToArray();
        t.Run();
        Assert.Equal(vision, t.Model.vision.patch_embed.weight.data<float>());
        Assert.NotEqual(text, t.Model.lm_head.weight.data<float>());
        // Off, the switch stays out of config.json, which then matches the run folders made before it existed.
        Assert.DoesNotContain("train_vision", File.ReadAllText(t.Folder.ConfigPath));
    }

    [Fact]
    public void TrainVisionLetsTheTowerLearnAndResumes()
    {
        var c = Tiny(steps: 2) with { Objective = PolicyObjective.NoClip, TrainVision = true };
        var t = Trainer(c, "train-vision");
        var vision = t.Model.vision.patch_embed.weight.data<float>().ToArray();
        t.Run(stopAfter: 1);
        Assert.NotEqual(vision, t.Model.vision.patch_embed.weight.data<float>());
        // The optimizer state saved with the checkpoint covers the tower too: a resume finishes as a straight run does.
        var resumed = Trainer(c, "train-vision");
        resumed.Run(resume: true);
        var straight = Trainer(c, "train-vision-straight");
        straight.Run();
        Assert.Equal(MetricsWithoutTimes(straight.Folder.MetricsPath), MetricsWithoutTimes(resumed.Folder.MetricsPath));
        Assert.Contains("\"train_vision\": true", File.ReadAllText(resumed.Folder.ConfigPath));
    }

    [Fact]
    public void RefusesAnotherConfigurationOnResume()
    {
        var t = Trainer(Tiny(steps: 2), "conf");
        t.Run();
        var other = Trainer(Tiny(steps: 2) with { LearningRate = 5e-4 }, "conf");
        var e = Assert.Throws<InvalidDataException>(() => other.Run(resume: true));
        Assert.Contains("another configuration", e.Message);
        Assert.Throws<IOException>(() => Trainer(Tiny(steps: 2), "conf").Run());
    }

    [Fact]
    public void EveryRecipeRunsAStep()
    {
        foreach (var algo in RlConfig.Algos)
        {
            var t = Trainer(Tiny(algo, steps: 1) with { EvalEvery = 0, EvalProblems = 0, Loss = new LossSettings { KlCoef = algo == "cpgd" ? 0.01 : 0 } }, "algo-" + algo);
            var r = t.Run();
            Assert.Null(r.Stopped);
            Assert.Equal(1, r.Step);
        }
    }
}
