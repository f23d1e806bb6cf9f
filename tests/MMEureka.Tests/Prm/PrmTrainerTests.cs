using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Prm;
using MMEureka.Tests.Models;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Tests.Prm;

public sealed class PrmTrainerTests : IDisposable
{
    private static readonly Problem[] Train = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 7, Train: 20), Split.Train);
    private static readonly MiniVlmConfig Shape = TestModels.Tiny with { MaxTextLen = 192 };
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mmeureka-prm-" + Guid.NewGuid().ToString("N"));
    private readonly string _init;

    public PrmTrainerTests()
    {
        _init = Path.Combine(_root, "init");
        new MiniVlm(Shape, 3).Save(_init);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private static PrmConfig Tiny(int steps) => PrmConfig.ForPreset("tiny") with
    {
        Steps = steps, BatchSize = 4, EvalEvery = 3, CheckpointEvery = 3, EvalFraction = 0.25,
    };

    private PrmTrainer Trainer(PrmConfig config, string name, IReadOnlyList<PrmExample>? examples = null) =>
        new(config, examples ?? PrmData.FromGold(Train, 1), "gold", _init, Path.Combine(_root, name));

    [Fact]
    public void InputPutsATagAfterEveryStepAndOneAfterTheAnswer()
    {
        var tok = new Tokenizer();
        var solution = new Solution(["a: 1", "b: 2"], "3");
        var input = PrmInput.Build(tok, Train[0], solution, 192);
        Assert.Equal("<think>a: 1<prm>\nb: 2<prm></think><answer>3</answer><prm>", tok.Decode(input.Response));
        Assert.All(input.TagIndices, k => Assert.Equal(Tokenizer.Prm, input.Response[k]));
        Assert.Equal(3, input.ScoredSteps);
        var outcome = PrmInput.Build(tok, Train[0], solution, 192, outcome: true);
        Assert.Equal("<think>a: 1\nb: 2</think><answer>3</answer><prm>", tok.Decode(outcome.Response));
        // A path that ends at a wrong thought has no answer and no answer tag; a step containing the text "<prm>"
        // does not add a scored step.
        var cut = PrmInput.Build(tok, Train[0], new Solution(["x <prm> y"], null), 192);
        Assert.Single(cut.TagIndices);
        // Too long for the window: only the tags that fit (with one place after them) are kept.
        int promptLength = PolicyPrompt.Encode(tok, Train[0]).Length;
        var tight = PrmInput.Build(tok, Train[0], solution, promptLength + 1 + "<think>a: 1<prm>".Length - 6);
        Assert.Equal(1, tight.ScoredSteps);
    }

    [Fact]
    public void LossIsTheTwoWayCrossEntropyAtTheTagPositions()
    {
        // By hand: margins m = z_yes - z_no and labels y; loss = mean(ln(1 + e^m) - y m).
        var margins = tensor(new[] { 2f, -1f, 0f }, [3]);
        double expected = (Math.Log(1 + Math.Exp(2)) - 2 + Math.Log(1 + Math.Exp(-1)) + 0.3 + Math.Log(2)) / 3;
        Assert.Equal(0.477779, expected, 6);
        Assert.Equal(expected, StepScores.Loss(margins, [1f, 0.3f, 0.5f]).item<float>(), 5);

        // Through the model: the softmax over (<yes>, <no>) of the plain forward's logits at each <prm> token,
        // one solution at a time, equals the batched, padded reading.
        var model = new MiniVlm(Shape, 5);
        var tok = new Tokenizer();
        var paths = PrmData.FromGold(Train.Take(3).ToList(), 2);
        var inputs = paths.Select(p => PrmInput.Build(tok, p.Problem, p.Path.Solution, 192)).ToList();
        var labels = paths.SelectMany(p => p.Path.Labels.Select(l => (float)l)).ToList();
        var batched = StepScores.Margins(model, inputs).data<float>().ToArray();
        Assert.Equal(labels.Count, batched.Length);
        double sum = 0;
        int at = 0;
        foreach (var input in inputs)
        {
            var seq = input.Prompt.Concat(input.Response).ToArray();
            var logits = model.forward(Sampler.ImageBatch([input.Pixels], Shape), seq, seq.Length).data<float>();
            foreach (var k in input.TagIndices)
            {
                int row = Shape.ImageTokens + input.Prompt.Length + k; // the output at the <prm> token itself
                double zy = logits[row * Shape.VocabSize + Tokenizer.Yes], zn = logits[row * Shape.VocabSize + Tokenizer.No];
                Assert.Equal(zy - zn, batched[at], 4);
                double y = labels[at++];
                double logYes = zy - Math.Log(Math.Exp(zy) + Math.Exp(zn)), logNo = zn - Math.Log(Math.Exp(zy) + Math.Exp(zn));
                sum -= y * logYes + (1 - y) * logNo;
            }
        }
        Assert.Equal(sum / labels.Count, StepScores.Loss(tensor([.. batched], [batched.Length]), labels).item<float>(), 5);
        var scores = StepScores.Score(model, inputs, batchSize: 2);
        Assert.Equal(StepScores.Sigmoid(batched[0]), scores[0][0], 5);
    }

    [Fact]
    public void LossGradientMatchesFiniteDifferences()
    {
        // The PRM head: hidden states of a tiny model (constants) -> lm_head weight (checked) -> rows of the tags ->
        // margins -> loss with soft labels.
        var model = new MiniVlm(Shape, 6);
        var tok = new Tokenizer();
        var paths = PrmData.FromGold(Train.Take(2).ToList(), 3);
        var inputs = paths.Select(p => PrmInput.Build(tok, p.Problem, p.Path.Solution, 192)).ToList();
        var labels = paths.SelectMany(p => p.Path.Labels.Select(l => (float)l * 0.8f + 0.1f)).ToList();
        Tensor hidden;
        int length;
        using (no_grad())
        {
            var (logits, len) = PolicyLogProbs.TextLogits(model, inputs.Select(i => i.Pixels).ToList(), inputs.Select(i => i.Prompt).ToList(),
                inputs.Select(i => (int[])[.. i.Response, Tokenizer.Pad]).ToList(), 1f);
            length = len;
            // Recover the hidden states by running the decoder again (TextLogits returns only logits).
            var x = cat([model.EncodeImage(Sampler.ImageBatch(inputs.Select(i => i.Pixels).ToList(), Shape)),
                model.EmbedTokens(Enumerable.Range(0, inputs.Count).SelectMany(r => Padded(inputs[r], len)).ToArray(), inputs.Count, len)], 1);
            int total = Shape.ImageTokens + len;
            var pos = Enumerable.Range(0, inputs.Count).SelectMany(_ => Enumerable.Range(0, total)).ToArray();
            hidden = model.Decode(x, pos).narrow(1, Shape.ImageTokens - 1, len).reshape(inputs.Count * len, Shape.TextDim).contiguous();
            Assert.Equal(logits.data<float>().ToArray(), model.lm_head.forward(hidden).data<float>().ToArray());
        }
        var rows = StepScores.TagRows(inputs, length);
        var weight = model.lm_head.weight.detach().clone();
        weight.requires_grad = true;
        var result = autograd.gradcheck(w => StepScores.Loss(StepScores.MarginsAt(nn.functional.linear(hidden, w[0]), rows), labels).view(1), [weight]);
        Assert.True(result.Passed, result.ToString());

        // And the whole network: one weight deep in the decoder, by central differences on the full loss.
        var p = model.text.blocks[0].mlp.fc1.weight;
        double Loss() => StepScores.Loss(StepScores.Margins(model, inputs), labels).item<float>();
        model.zero_grad();
        StepScores.Loss(StepScores.Margins(model, inputs), labels).backward();
        var grad = p.grad!.data<float>().ToArray();
        int checkedCount = 0;
        foreach (int index in new[] { 0, 7, 130, 517 })
        {
            const float eps = 1e-2f;
            double Shifted(float by) { using (no_grad()) p.view(-1).narrow(0, index, 1).add_(by); return Loss(); }
            double plus = Shifted(eps), minus = Shifted(-2 * eps);
            Shifted(eps);
            double numeric = (plus - minus) / (2 * eps);
            Assert.True(Math.Abs(numeric - grad[index]) <= 2e-3 + 0.05 * Math.Abs(numeric), $"fc1.weight[{index}]: analytic {grad[index]}, numeric {numeric}");
            checkedCount++;
        }
        Assert.Equal(4, checkedCount);
    }

    private static int[] Padded(PrmInput input, int length)
    {
        var ids = new int[length];
        input.Prompt.CopyTo(ids, 0);
        input.Response.CopyTo(ids, input.Prompt.Length);
        return ids;
    }

    [Fact]
    public void TinyRunOverfitsAHandfulOfPaths()
    {
        var examples = PrmData.FromGold(Train.Take(4).ToList(), 4);
        // All 12 paths in every batch, so that the loss curve is the full-data loss.
        var config = Tiny(100) with { BatchSize = 12, LearningRate = 2e-3, MinLrRatio = 1, WeightDecay = 0, EvalFraction = 0, EvalEvery = 0, CheckpointEvery = 100 };
        var trainer = Trainer(config, "overfit", examples);
        var losses = new List<double>();
        var result = trainer.Run(progress: p => losses.Add(p.Loss));
        Assert.Null(result.Stopped);
        Assert.True(losses.Take(5).Average() > 0.4, $"first losses {string.Join(", ", losses.Take(5))}");
        Assert.True(losses.TakeLast(5).Average() < 0.05, $"last losses {string.Join(", ", losses.TakeLast(5))}");
        // The trained model flags exactly the corrupted step of each training path.
        var scores = StepScores.Score(trainer.Model, trainer.TrainItems.Select(i => i.Input).ToList());
        var m = PrmMetrics.Compute(scores, trainer.TrainItems.Select(i => (IReadOnlyList<double>)i.SoftLabels.Select(l => (double)l).ToList()).ToList());
        Assert.Equal(1.0, m.F1);
    }

    [Fact]
    public void VisionTowerStaysFrozen()
    {
        var trainer = Trainer(Tiny(2) with { LearningRate = 1e-2 }, "frozen");
        var tower = trainer.Model.vision.patch_embed.weight.data<float>().ToArray();
        var head = trainer.Model.lm_head.weight.data<float>().ToArray();
        trainer.Run();
        Assert.Equal(tower, trainer.Model.vision.patch_embed.weight.data<float>().ToArray());
        Assert.NotEqual(head, trainer.Model.lm_head.weight.data<float>().ToArray());
    }

    [Fact]
    public void TrainVisionLetsTheTowerLearn()
    {
        var trainer = Trainer(Tiny(2) with { LearningRate = 1e-2, TrainVision = true }, "train-vision");
        var tower = trainer.Model.vision.patch_embed.weight.data<float>().ToArray();
        trainer.Run();
        Assert.NotEqual(tower, trainer.Model.vision.patch_embed.weight.data<float>().ToArray());
    }

    [Fact]
    public void ResumedRunWritesTheSameMetricsAsAnUninterruptedOne()
    {
        var config = Tiny(6);
        var whole = Trainer(config, "whole");
        whole.Run();
        var part = Trainer(config, "parts");
        Assert.Equal(4, part.Run(stopAfter: 4).Step);
        File.AppendAllText(part.MetricsPath, "{\"step\":5,\"loss\":9}\n"); // a step whose checkpoint never landed
        var resumed = Trainer(config, "parts");
        Assert.Equal(6, resumed.Run(resume: true).Step);
        var expected = File.ReadAllText(whole.MetricsPath);
        Assert.Equal(expected, File.ReadAllText(resumed.MetricsPath));
        Assert.Contains("\"eval_f1\"", expected);
        Assert.Equal(whole.Model.lm_head.weight.data<float>(), resumed.Model.lm_head.weight.data<float>());

        var other = Trainer(config with { Labels = PrmLabels.Hard }, "parts");
        Assert.False(other.HasCompatibleCheckpoint);
        Assert.Contains("another configuration", Assert.Throws<InvalidDataException>(() => other.Run(resume: true)).Message);
        Assert.Throws<IOException>(() => Trainer(config, "whole").Run());
    }

    [Fact]
    public void NonFiniteLossStopsWithTheStepAndKeepsTheLastGoodCheckpoint()
    {
        var trainer = Trainer(Tiny(10), "nan");
        var result = trainer.Run(progress: p =>
        {
            if (p.Step == 4) using (no_grad()) trainer.Model.text.norm.weight!.fill_(float.NaN);
        });
        Assert.Equal(4, result.Step);
        Assert.Contains("step 5", result.Stopped);
        Assert.Contains("\"step\":3", File.ReadAllText(Path.Combine(trainer.CheckpointDir, "trainer.json")));
        Assert.All(MiniVlm.Load(trainer.CheckpointDir).text.norm.weight!.data<float>(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void HardLabelsAndTheOutcomeModelTrainOnWhatTheyShould()
    {
        var examples = new List<PrmExample>
        {
            new(Train[0], new StepExample(Train[0].Id, ["a", "b"], "1", [0.75, 0.25, 1.0])),
            new(Train[1], new StepExample(Train[1].Id, ["a", "b"], null, [0.5, 0.0])),
            new(Train[2], new StepExample(Train[2].Id, ["a"], "2", [0.5, 0.0])),
        };
        var config = Tiny(1) with { EvalFraction = 0 };
        var soft = Trainer(config, "soft", examples).TrainItems;
        Assert.Equal([0.75f, 0.25f, 1f], soft[0].Labels);
        var hard = Trainer(config with { Labels = PrmLabels.Hard }, "hard", examples).TrainItems;
        Assert.Equal([1f, 1f, 1f], hard[0].Labels);
        Assert.Equal([1f, 0f], hard[1].Labels);
        var orm = Trainer(config with { Outcome = true }, "orm", examples);
        Assert.Equal(2, orm.TrainItems.Count); // the path without an answer has no outcome
        Assert.Equal([1f], orm.TrainItems[0].Labels);
        Assert.Equal([0f], orm.TrainItems[1].Labels);
        orm.Run();
        Assert.True(PrmTrainer.IsOutcomeModel(orm.CheckpointDir));
        Assert.False(PrmTrainer.IsOutcomeModel(_init));
    }

    [Fact]
    public void HeldOutPathsShareNoProblemWithTrainingPaths()
    {
        var examples = PrmData.FromGold(Train, 5);
        var (train, eval) = PrmData.Split(examples, 0.25, 1);
        Assert.Equal(5, eval.Select(e => e.Problem.Id).Distinct().Count());
        Assert.Empty(train.Select(e => e.Problem.Id).Intersect(eval.Select(e => e.Problem.Id)));
        Assert.Equal(examples.Count, train.Count + eval.Count);
        Assert.NotEqual(eval.Select(e => e.Problem.Id).Distinct(), PrmData.Split(examples, 0.25, 2).eval.Select(e => e.Problem.Id).Distinct());
        // Gold-derived labels: every path valid, the corrupted step labelled 0 and last.
        Assert.All(examples, e => e.Path.Validate());
        Assert.Contains(examples, e => e.Path.Answer == null && e.Path.Labels[^1] == 0);
    }

    [Fact]
    public void ProcessBenchF1LocatesTheFirstWrongStepExactly()
    {
        IReadOnlyList<double> L(params double[] v) => v;
        var labels = new[] { L(1, 1, 0), L(1, 0.5, 0), L(1, 1, 1), L(0.5, 1) };
        var scores = new[] { L(0.9, 0.8, 0.1), L(0.2, 0.9, 0.1), L(0.9, 0.6, 0.7), L(0.7, 0.4) };
        var m = PrmMetrics.Compute(scores, labels);
        Assert.Equal(0.5, m.WrongAccuracy);   // path 0 found at step 2; path 1 flagged at step 0, too early
        Assert.Equal(0.5, m.CorrectAccuracy); // path 2 clean; path 3 flags a correct step
        Assert.Equal(0.5, m.F1);
        Assert.Equal(11, m.Steps);
        double bce = -(Math.Log(0.9) + Math.Log(0.8) + Math.Log(0.9) + Math.Log(0.2) + 0.5 * Math.Log(0.9) + 0.5 * Math.Log(0.1) + Math.Log(0.9)
                       + Math.Log(0.9) + Math.Log(0.6) + Math.Log(0.7) + 0.5 * Math.Log(0.7) + 0.5 * Math.Log(0.3) + Math.Log(0.4)) / 11;
        Assert.Equal(bce, m.StepBce, 9);
        Assert.Equal(2 * 1.0 * 0.5 / 1.5, PrmMetrics.Compute([L(0.1), L(0.9), L(0.2)], [L(0), L(1), L(1)]).F1, 9);
    }
}
