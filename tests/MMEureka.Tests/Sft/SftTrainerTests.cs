using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Sft;
using MMEureka.Tests.Models;
using static MMEureka.Torch.torch;

namespace MMEureka.Tests.Sft;

public sealed class SftTrainerTests : IDisposable
{
    private static readonly Problem[] Train = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 5, Train: 24), Split.Train);
    private static readonly Problem[] Test = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 5, Test: 4), Split.Test);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mmeureka-sft-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private static SftConfig Tiny(int steps) => SftConfig.ForPreset("tiny") with
    {
        Model = TestModels.Tiny with { MaxTextLen = 192 }, Steps = steps, BatchSize = 4, WarmupSteps = 2, EvalEvery = 3,
        EvalProblems = 2, CheckpointEvery = 3, MaxNewTokens = 12, Vision = new VisionPretrainConfig(), VisionLrScale = 1,
    };

    [Fact]
    public void LossCoversResponseTokensOnly()
    {
        var tok = new Tokenizer();
        var problems = Train.Take(3).ToList();
        var prompts = problems.Select(p => PolicyPrompt.Encode(tok, p)).ToList();
        var responses = problems.Select(p => PolicyPrompt.GoldResponse(tok, p)).ToList();
        var pixels = problems.Select(p => PolicyPrompt.Pixels(p)).ToList();
        var big = new MiniVlm(TestModels.Tiny with { MaxTextLen = 192 }, 2);
        float loss = PolicyLogProbs.ResponseLoss(big, pixels, prompts, responses).item<float>();

        // Reference: one sequence at a time through the plain forward, log-softmax by hand, response tokens only.
        double sum = 0;
        int count = 0;
        for (int r = 0; r < 3; r++)
        {
            var seq = prompts[r].Concat(responses[r]).ToArray();
            var logits = big.forward(Sampler.ImageBatch([pixels[r]], big.Config), seq, seq.Length).data<float>();
            for (int j = prompts[r].Length; j < seq.Length; j++)
            {
                var row = logits.AsSpan((36 + j - 1) * 106, 106);
                double max = double.NegativeInfinity, z = 0;
                foreach (var v in row) max = Math.Max(max, v);
                foreach (var v in row) z += Math.Exp(v - max);
                sum += max + Math.Log(z) - row[seq[j]];
                count++;
            }
        }
        Assert.Equal(sum / count, loss, 4);

        // Targets: -100 on every prompt position and on padding.
        var targets = PolicyLogProbs.ResponseTargets(prompts, responses, 150);
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 150; j++)
            {
                bool inResponse = j >= prompts[r].Length && j < prompts[r].Length + responses[r].Length;
                Assert.Equal(inResponse, targets[r * 150 + j] != -100);
            }
    }

    [Fact]
    public void TinyRunOverfitsAHandfulOfProblems()
    {
        var config = Tiny(60) with { LearningRate = 1e-2, MinLrRatio = 1, WeightDecay = 0, EvalEvery = 0, EvalProblems = 0, CheckpointEvery = 60, TrainProblems = 4 };
        var trainer = new SftTrainer(config, Train, Test, Path.Combine(_root, "overfit"));
        var losses = new List<double>();
        var result = trainer.Run(progress: p => losses.Add(p.Loss));
        Assert.Null(result.Stopped);
        Assert.Equal(60, losses.Count);
        Assert.True(losses[0] > 3.5, $"first loss {losses[0]}");
        Assert.True(losses[^1] < 0.3, $"loss after 60 steps on 4 problems is {losses[^1]}");
    }

    [Fact]
    public void ResumedRunWritesTheSameMetricsAsAnUninterruptedOne()
    {
        var config = Tiny(6);
        var whole = new SftTrainer(config, Train, Test, Path.Combine(_root, "whole"));
        whole.Run();

        var part = new SftTrainer(config, Train, Test, Path.Combine(_root, "parts"));
        var first = part.Run(stopAfter: 4); // checkpoint at 3 and at the stop (4)
        Assert.Equal(4, first.Step);
        var resumed = new SftTrainer(config, Train, Test, Path.Combine(_root, "parts"));
        var second = resumed.Run(resume: true);
        Assert.Equal(6, second.Step);

        var expected = File.ReadAllText(whole.MetricsPath);
        Assert.Equal(expected, File.ReadAllText(resumed.MetricsPath));
        Assert.Contains("\"eval_accuracy\"", expected);
        Assert.Equal(6 + 2, expected.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(whole.Model.lm_head.weight.data<float>(), resumed.Model.lm_head.weight.data<float>());
    }

    [Fact]
    public void EvalLossIsTheTokenMeanOverAllEvalProblemsAcrossChunks()
    {
        // 40 problems: two chunks of unequal size, so a plain mean of chunk means would differ from the token mean.
        var eval = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 6, Test: 40), Split.Test);
        var config = Tiny(2) with { EvalProblems = 40 };
        var trainer = new SftTrainer(config, Train, eval, Path.Combine(_root, "evalloss"));
        var tok = new Tokenizer();
        float whole;
        // Sharper logits spread the per-token losses, so a mean of chunk means would miss the token mean.
        using (no_grad()) trainer.Model.lm_head.weight.mul_(30f);
        using (no_grad())
            whole = PolicyLogProbs.ResponseLoss(trainer.Model, eval.Select(p => PolicyPrompt.Pixels(p)).ToList(),
                eval.Select(p => PolicyPrompt.Encode(tok, p)).ToList(), eval.Select(p => PolicyPrompt.GoldResponse(tok, p)).ToList()).item<float>();
        Assert.Equal(whole, trainer.EvalLoss(), 4);
        trainer.Run();
        Assert.Contains("\"eval_loss\"", File.ReadAllText(trainer.MetricsPath));
    }

    [Fact]
    public void ResumeAfterACrashDropsMetricsPastTheCheckpoint()
    {
        var config = Tiny(6);
        var crashed = new SftTrainer(config, Train, Test, Path.Combine(_root, "crash"));
        crashed.Run(stopAfter: 3);
        File.AppendAllText(crashed.MetricsPath, "{\"step\":4,\"loss\":9}\n"); // a step whose checkpoint never landed
        var resumed = new SftTrainer(config, Train, Test, Path.Combine(_root, "crash"));
        resumed.Run(resume: true);
        var whole = new SftTrainer(config, Train, Test, Path.Combine(_root, "whole2"));
        whole.Run();
        Assert.Equal(File.ReadAllText(whole.MetricsPath), File.ReadAllText(resumed.MetricsPath));
    }

    [Fact]
    public void NonFiniteLossStopsWithTheStepAndKeepsTheLastGoodCheckpoint()
    {
        var config = Tiny(10);
        var trainer = new SftTrainer(config, Train, Test, Path.Combine(_root, "nan"));
        var result = trainer.Run(progress: p =>
        {
            if (p.Step == 4) using (no_grad()) trainer.Model.text.norm.weight!.fill_(float.NaN);
        });
        Assert.Equal(4, result.Step);
        Assert.NotNull(result.Stopped);
        Assert.Contains("step 5", result.Stopped);
        Assert.Contains("\"step\":3", File.ReadAllText(Path.Combine(trainer.CheckpointDir, "trainer.json")));
        var saved = MiniVlm.Load(trainer.CheckpointDir);
        Assert.All(saved.text.norm.weight!.data<float>(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void RefusesToOverwriteARunWithoutResumeAndToResumeWithoutACheckpoint()
    {
        var config = Tiny(3);
        var dir = Path.Combine(_root, "guard");
        Assert.Throws<FileNotFoundException>(() => new SftTrainer(config, Train, Test, dir).Run(resume: true));
        new SftTrainer(config, Train, Test, dir).Run();
        Assert.Throws<IOException>(() => new SftTrainer(config, Train, Test, dir).Run());
    }

    [Fact]
    public void ResumingAFinishedRunReusesItAndAnotherConfigIsRefused()
    {
        var config = Tiny(3);
        var dir = Path.Combine(_root, "finished");
        var first = new SftTrainer(config, Train, Test, dir);
        var done = first.Run();
        var metrics = File.ReadAllText(first.MetricsPath);
        var again = new SftTrainer(config, Train, Test, dir);
        Assert.True(again.HasCompatibleCheckpoint);
        var reused = again.Run(resume: true);
        Assert.Equal(3, reused.Step);
        Assert.Equal(done.Loss, reused.Loss);
        Assert.Equal(metrics, File.ReadAllText(again.MetricsPath));
        Assert.Equal(first.Model.lm_head.weight.data<float>(), again.Model.lm_head.weight.data<float>());

        var other = new SftTrainer(config with { LearningRate = 1e-4 }, Train, Test, dir);
        Assert.False(other.HasCompatibleCheckpoint);
        Assert.Contains("another configuration", Assert.Throws<InvalidDataException>(() => other.Run(resume: true)).Message);
    }

    [Fact]
    public void StageOneRunsBeforeSftCheckpointsAtStepZeroAndAFrozenTowerStaysPut()
    {
        var config = Tiny(4) with { Vision = new VisionPretrainConfig { Steps = 6, BatchSize = 8, WarmupSteps = 1, EvalEvery = 3 }, VisionLrScale = 0 };
        var whole = new SftTrainer(config, Train, Test, Path.Combine(_root, "stage1"));
        var initialTower = whole.Model.vision.patch_embed.weight.data<float>().ToArray();
        whole.Run();
        var log = File.ReadAllLines(whole.VisionLogPath);
        Assert.Equal(6, log.Length);
        Assert.Contains("\"accuracy_slot0\"", log[2]);
        var finalTower = whole.Model.vision.patch_embed.weight.data<float>();
        Assert.NotEqual(initialTower, finalTower); // stage 1 trained it

        // Stopped right after stage 1: the step-0 checkpoint holds the pre-trained tower, and resuming from it ends
        // where the uninterrupted run ended, with the tower untouched by SFT.
        var part = new SftTrainer(config, Train, Test, Path.Combine(_root, "stage1-parts"));
        Assert.Equal(0, part.Run(stopAfter: 0).Step);
        Assert.Equal(finalTower, MiniVlm.Load(part.CheckpointDir).vision.patch_embed.weight.data<float>());
        var resumed = new SftTrainer(config, Train, Test, Path.Combine(_root, "stage1-parts"));
        resumed.Run(resume: true);
        Assert.Equal(finalTower, resumed.Model.vision.patch_embed.weight.data<float>());
        Assert.Equal(whole.Model.lm_head.weight.data<float>(), resumed.Model.lm_head.weight.data<float>());
        Assert.Equal(File.ReadAllText(whole.MetricsPath), File.ReadAllText(resumed.MetricsPath));
    }

    [Fact]
    public void VisionLrScaleSlowsOnlyTheTower()
    {
        // One step at lr 1e-2: AdamW's first update moves every weight by about lr (its sign), so the tower's largest
        // change is lr x scale while the decoder's stays lr.
        var config = Tiny(1) with { LearningRate = 1e-2, WarmupSteps = 0, MinLrRatio = 1, WeightDecay = 0, EvalEvery = 0, EvalProblems = 0, VisionLrScale = 0.1 };
        var trainer = new SftTrainer(config, Train, Test, Path.Combine(_root, "scale"));
        var tower0 = trainer.Model.vision.patch_embed.weight.data<float>().ToArray();
        var head0 = trainer.Model.lm_head.weight.data<float>().ToArray();
        trainer.Run();
        static double MaxChange(float[] before, float[] after) => before.Zip(after, (x, y) => Math.Abs(x - y)).Max();
        Assert.Equal(1e-3, MaxChange(tower0, trainer.Model.vision.patch_embed.weight.data<float>()), 4);
        Assert.Equal(1e-2, MaxChange(head0, trainer.Model.lm_head.weight.data<float>()), 3);
        Assert.Throws<ArgumentException>(() => (config with { VisionLrScale = 1.5 }).Validate());
    }

    [Fact]
    public void BatchesCoverEveryProblemOncePerEpochAndDependOnlyOnSeedAndStep()
    {
        var config = Tiny(10) with { TrainProblems = 24 };
        var a = new SftTrainer(config, Train, Test, Path.Combine(_root, "a"));
        var b = new SftTrainer(config, Train, Test, Path.Combine(_root, "b"));
        var epoch = Enumerable.Range(0, 6).SelectMany(a.BatchIndices).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 24), epoch);
        Assert.Equal(a.BatchIndices(9), b.BatchIndices(9));
        Assert.NotEqual(a.BatchIndices(0), new SftTrainer(config with { Seed = 2 }, Train, Test, Path.Combine(_root, "c")).BatchIndices(0));
    }
}
