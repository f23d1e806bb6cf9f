using MMEureka.Torch;
using MMEureka.Torch.Modules;
using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Tests;

public class ModuleTests
{
    private sealed class Tiny : nn.Module<Tensor, Tensor>
    {
        public readonly Linear fc;
        private readonly ModuleList<Linear> layers = nn.ModuleList(nn.Linear(3, 3), nn.Linear(3, 3, hasBias: false));
        private readonly Tensor scale = nn.Parameter(ones(3));
        private readonly Tensor counter = zeros(1);
        public Dropout drop { get; } = nn.Dropout(0.5);

        public Tiny()
        {
            fc = nn.Linear(2, 3);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => layers[1].forward(layers[0].forward(fc.forward(x))) * scale;
    }

    [Fact]
    public void Register_components_names_parameters_buffers_and_modules()
    {
        var m = new Tiny();
        // Own parameters first, then children in registration order (PyTorch order).
        Assert.Equal(new[] { "scale", "fc.weight", "fc.bias", "layers.0.weight", "layers.0.bias", "layers.1.weight" },
            m.named_parameters().Select(p => p.name).ToArray());
        Assert.Equal(new[] { "counter" }, m.named_buffers().Select(b => b.name).ToArray());
        Assert.Equal(new[] { "", "fc", "layers", "layers.0", "layers.1", "drop" }, m.named_modules().Select(x => x.name).ToArray());
        Assert.Equal(new long[] { 3, 2 }, m.fc.weight.shape);
        m.eval();
        Assert.False(m.drop.training);
        m.train();
        Assert.True(m.drop.training);
        int count = 0;
        m.apply(_ => count++);
        Assert.Equal(6, count);
    }

    [Fact]
    public void State_dict_round_trip_and_clear_errors()
    {
        var a = new Tiny();
        var b = new Tiny();
        var x = randn(4, 2);
        Assert.NotEqual(a.forward(x).data<float>(), b.forward(x).data<float>());
        b.load_state_dict(a.state_dict());
        Assert.Equal(a.forward(x).data<float>(), b.forward(x).data<float>());

        var sd = a.state_dict();
        sd.Remove("layers.1.weight");
        sd["extra.bias"] = zeros(1);
        var e = Assert.Throws<ArgumentException>(() => b.load_state_dict(sd));
        Assert.Contains("missing keys: layers.1.weight", e.Message);
        Assert.Contains("unexpected keys: extra.bias", e.Message);
        var (missing, unexpected) = b.load_state_dict(sd, strict: false);
        Assert.Equal(new[] { "layers.1.weight" }, missing);
        Assert.Equal(new[] { "extra.bias" }, unexpected);

        var wrong = a.state_dict();
        wrong["fc.weight"] = zeros(2, 3);
        var e2 = Assert.Throws<ArgumentException>(() => b.load_state_dict(wrong));
        Assert.Contains("fc.weight: checkpoint [2, 3] vs model [3, 2]", e2.Message);
    }

    [Fact]
    public void Linear_init_bounds_and_zero_grad()
    {
        manual_seed(0);
        var l = nn.Linear(16, 8);
        Assert.All(l.weight.data<float>(), v => Assert.InRange(v, -0.25f, 0.25f));
        Assert.All(l.bias!.data<float>(), v => Assert.InRange(v, -0.25f, 0.25f));
        l.forward(randn(3, 16)).sum().backward();
        Assert.NotNull(l.weight.grad);
        l.zero_grad();
        Assert.Null(l.weight.grad);
        var t = zeros(1000);
        nn.init.trunc_normal_(t, 0, 1, -0.5, 0.5);
        Assert.All(t.data<float>(), v => Assert.InRange(v, -0.5f, 0.5f));
        nn.init.xavier_uniform_(zeros(10, 20)); // bound sqrt(6 / 30)
        var w = nn.init.xavier_uniform_(zeros(10, 20));
        Assert.All(w.data<float>(), v => Assert.InRange(v, -0.4473f, 0.4473f));
    }

    [Fact]
    public void Sequential_applies_in_order()
    {
        manual_seed(1);
        var l1 = nn.Linear(2, 4);
        var l2 = nn.Linear(4, 1);
        var seq = nn.Sequential(l1, nn.GELU(), l2);
        var x = randn(3, 2);
        Assert.Equal(l2.forward(l1.forward(x).gelu()).data<float>(), seq.forward(x).data<float>());
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, seq.named_parameters().Select(p => p.name).ToArray());
    }
}
