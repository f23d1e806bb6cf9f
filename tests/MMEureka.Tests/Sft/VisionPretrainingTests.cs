using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Sft;
using MMEureka.Tests.Models;

namespace MMEureka.Tests.Sft;

public sealed class VisionPretrainingTests
{
    private static readonly Problem[] Train = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 9, Train: 64), Split.Train);

    private static Problem WithSteps(params string[] steps) => Train[0] with { Family = "clock", SolutionSteps = steps };

    [Fact]
    public void LabelsAreTheNumbersOfTheFirstThreeStepsPerFamily()
    {
        var labels = VisionPretraining.Labels(WithSteps("hour hand: past 5", "minute hand at 3: 15 min", "15/60 = 0.25", "5 + 0.25 = 5.25"));
        Assert.Equal(["clock|5", "clock|-", "clock|-", "clock|3", "clock|15", "clock|-", "clock|15/60", "clock|0.25", "clock|-"], labels);
        // A minus between spaces is subtraction, a minus before a digit a sign; missing steps are not labelled.
        labels = VisionPretraining.Labels(WithSteps("ends: -9 and 1", "6 - 3 = 3"));
        Assert.Equal(["clock|-9", "clock|1", "clock|-", "clock|6", "clock|3", "clock|3", null, null, null], labels);
    }

    [Fact]
    public void ClassesComeFromTrainingLabelsAndUnseenOnesCountAsWrong()
    {
        var model = new MiniVlm(TestModels.Tiny, 1);
        var stage = new VisionPretraining(model, Train, 1);
        var expected = Train.Select(p => VisionPretraining.Labels(p)[0]).OfType<string>().Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(expected, stage.Classes[0]);
        var unseen = Train[0] with { SolutionSteps = ["nothing like it: 98765", "x", "y"] };
        Assert.Equal(0, stage.Accuracy([unseen])[0]);
    }

    [Fact]
    public void TrainingMovesOnlyTheTowerIsSeededAndLearnsTheTrainingImages()
    {
        var config = new VisionPretrainConfig { Steps = 60, BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 5, EvalEvery = 0 };
        MiniVlm Trained(long seed, out double before, out double after)
        {
            var model = new MiniVlm(TestModels.Tiny, 1);
            var stage = new VisionPretraining(model, Train, seed);
            before = stage.Accuracy(Train).Average();
            var decoder = model.text.blocks[0].mlp.fc1.weight.data<float>().ToArray();
            var projector = model.projector.fc1.weight.data<float>().ToArray();
            var losses = new List<double>();
            stage.Train(config, Train, Train, seed, progress: p => losses.Add(p.Loss));
            Assert.Equal(config.Steps, losses.Count);
            Assert.True(losses.Skip(50).Average() < 0.5 * losses.Take(5).Average(), $"loss {losses[0]} -> {losses[^1]}");
            Assert.Equal(decoder, model.text.blocks[0].mlp.fc1.weight.data<float>());
            Assert.Equal(projector, model.projector.fc1.weight.data<float>());
            after = stage.Accuracy(Train).Average();
            return model;
        }
        var a = Trained(3, out double before, out double after);
        // 64 images, 60 steps of 16: the tower and head memorise most slots (chance is a few percent per slot).
        Assert.True(before < 0.2 && after > 0.6, $"slot accuracy on the training images {before:P0} -> {after:P0}");
        var b = Trained(3, out _, out _);
        Assert.Equal(a.vision.patch_embed.weight.data<float>(), b.vision.patch_embed.weight.data<float>());
        Assert.NotEqual(a.vision.patch_embed.weight.data<float>(), Trained(4, out _, out _).vision.patch_embed.weight.data<float>());
    }
}
