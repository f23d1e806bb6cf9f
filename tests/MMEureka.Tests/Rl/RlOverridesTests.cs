using MMEureka.Rl;

namespace MMEureka.Tests.Rl;

public sealed class RlOverridesTests
{
    [Fact]
    public void SetsNumbersBooleansEnumsAndLossConstantsByTheirConfigJsonNames()
    {
        var c = RlOverrides.Apply(RlConfig.ForAlgo("cpgd", "quick"),
            ["learning_rate=1e-4", "epochs=4", "eps=0.3", "loss.drift_alpha=0.05", "estimator=cpgd_clip_filter_like", "filter=true",
             "loss.kl_coef=0.01", "kl_estimator=k2", "truncated_is=false", "temperature=0.7"]);
        Assert.Equal(1e-4, c.LearningRate);
        Assert.Equal(4, c.Epochs);
        Assert.Equal(0.3, c.Loss.Eps);
        Assert.Equal(0.05, c.Loss.DriftAlpha);
        Assert.Equal(0.01, c.Loss.KlCoef);
        Assert.Equal(KlEstimator.K2, c.Loss.KlEstimator);
        Assert.Equal(AdvantageEstimator.CpgdClipFilterLike, c.Estimator);
        Assert.True(c.Filter);
        Assert.False(c.TruncatedIs);
        Assert.Equal(0.7f, c.Temperature);
        // Untouched fields keep the recipe's values.
        Assert.Equal(PolicyObjective.Cpgd, c.Objective);
        Assert.Equal("cpgd", c.Algo);
        Assert.Equal(2.0, c.Loss.DriftC);
        // Later assignments win.
        Assert.Equal(3, RlOverrides.Apply(RlConfig.ForPreset("quick"), ["epochs=2", "epochs=3"]).Epochs);
    }

    [Theory]
    [InlineData("lr=1e-4", "--set lr: unknown key")]
    [InlineData("epochs=1.5", "--set epochs: expected a whole number")]
    [InlineData("epochs=many", "--set epochs: 'many' is not a number")]
    [InlineData("estimator=std", "--set estimator: unknown value (expected group_norm, rloo, reinforce_baseline, dr_grpo, cpgd_equal, cpgd_std, cpgd_clip_filter_like)")]
    [InlineData("objective=ppo", "--set objective: unknown value (expected ppo_clip, dual_clip")]
    [InlineData("filter=maybe", "--set filter: 'maybe' is not true or false")]
    [InlineData("eps=1.5", "--set: loss eps must be in (0, 1), got 1.5")]
    [InlineData("group_size=1", "--set: rl group_size must be at least 2")]
    [InlineData("algo=cpgd", "--set algo: not settable")]
    [InlineData("preset=full", "--set preset: not settable")]
    [InlineData("epochs", "--set 'epochs': expected key=value")]
    [InlineData("=4", "--set '=4': expected key=value")]
    [InlineData("loss.nope=1", "--set loss.nope: unknown key")]
    public void ErrorsNameTheKey(string assignment, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => RlOverrides.Apply(RlConfig.ForPreset("quick"), [assignment]));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void StressPresetTrainsSeveralEpochsWithoutFilterAndOnlyCpgdKeepsTheTruncatedWeight()
    {
        var grpo = RlConfig.ForAlgo("grpo", "stress");
        Assert.Equal("stress", grpo.Preset);
        Assert.False(grpo.Filter);
        Assert.True(grpo.Epochs > 1);
        Assert.True(grpo.LearningRate > RlConfig.ForPreset("quick").LearningRate);
        Assert.False(grpo.TruncatedIs);
        Assert.True(RlConfig.ForAlgo("cpgd", "stress").TruncatedIs);
        Assert.False(RlConfig.ForAlgo("no_clip", "stress").TruncatedIs);
        foreach (var algo in RlConfig.Algos) RlConfig.ForAlgo(algo, "stress").Validate();
    }
}
