using MMEureka.Torch;
using static MMEureka.Torch.torch;
using static MMEureka.Torch.Tests.GradCheck;

namespace MMEureka.Torch.Tests;

public class OptimizerTests
{
    [Fact]
    public void AdamW_two_steps_by_hand()
    {
        // p = 1, g = 0.5 then g = -1; lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.1.
        // step 1: p = 1 * (1 - 0.01) = 0.99; m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25 -> p = 0.99 - 0.1 * 0.5 / 0.5 = 0.89
        // step 2: p = 0.89 * 0.99 = 0.8811; m = 0.045 - 0.1 = -0.055; v = 0.00024975 + 0.001 = 0.00124975;
        //         m^ = -0.055 / 0.19 = -0.28947368; v^ = 0.00124975 / 0.001999 = 0.62518759 (sqrt 0.79068805)
        //         p = 0.8811 + 0.1 * 0.28947368 / 0.79068805 = 0.91771016
        var p = tensor(new float[] { 1 }).requires_grad_();
        var opt = optim.AdamW([p], lr: 0.1, weight_decay: 0.1);
        p.grad = tensor(new float[] { 0.5f });
        opt.step();
        Assert.Equal(0.89f, p.item<float>(), 6);
        p.grad = tensor(new float[] { -1f });
        opt.step();
        Assert.Equal(0.91771016f, p.item<float>(), 5);
    }

    [Fact]
    public void AdamW_vector_path_matches_the_formula_in_double()
    {
        // 19 elements: two 8-lane blocks and a 3-element tail, three steps with varying gradients.
        const int n = 19;
        const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        var start = Enumerable.Range(0, n).Select(i => (float)Math.Sin(i + 1)).ToArray();
        var p = tensor(start).requires_grad_();
        var opt = optim.AdamW([p], lr: lr, weight_decay: wd);
        var x = start.Select(v => (double)v).ToArray();
        var m = new double[n];
        var v2 = new double[n];
        for (int t = 1; t <= 3; t++)
        {
            var g = Enumerable.Range(0, n).Select(i => (float)Math.Cos(i * t + 0.5) * (i % 4 == 0 ? 1e-3f : 1f)).ToArray();
            p.grad = tensor(g);
            opt.step();
            for (int i = 0; i < n; i++)
            {
                x[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v2[i] = b2 * v2[i] + (1 - b2) * g[i] * g[i];
                x[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / (Math.Sqrt(v2[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps);
            }
        }
        Close(x.Select(d => (float)d).ToArray(), p.data<float>(), 1e-6, 1e-5);
    }

    [Fact]
    public void AdamW_state_round_trip_continues_exactly()
    {
        // Two parameters updated for 3 steps, saved, restored into a fresh optimizer over fresh copies, then 2 more
        // steps: identical bits to 5 uninterrupted steps (moments and per-parameter step counts both restored).
        (Tensor w, Tensor b) Make() => (tensor([0.5f, -1f, 2f, 0.25f], 2, 2).requires_grad_(), tensor([0.1f, -0.2f], 2).requires_grad_());
        void Step(Modules.AdamW opt, Tensor w, Tensor b, int k)
        {
            opt.zero_grad();
            w.matmul(tensor([1f, (float)k], 2)).add(b).square().sum().backward();
            opt.step();
        }
        var (w1, b1) = Make();
        var straight = optim.AdamW([w1, b1], lr: 0.05, beta2: 0.95, weight_decay: 0.1);
        for (int k = 0; k < 5; k++) Step(straight, w1, b1, k);

        var (w2, b2) = Make();
        var first = optim.AdamW([w2, b2], lr: 0.05, beta2: 0.95, weight_decay: 0.1);
        for (int k = 0; k < 3; k++) Step(first, w2, b2, k);
        var path = Path.Combine(Path.GetTempPath(), $"adamw-{Guid.NewGuid():N}.safetensors");
        first.save_state(path, [("w", w2), ("b", b2)]);
        var (w3, b3) = (w2.detach().clone().requires_grad_(), b2.detach().clone().requires_grad_());
        var second = optim.AdamW([w3, b3], lr: 0.05, beta2: 0.95, weight_decay: 0.1);
        second.load_state(path, [("w", w3), ("b", b3)]);
        for (int k = 3; k < 5; k++) Step(second, w3, b3, k);
        Assert.Equal(w1.data<float>(), w3.data<float>());
        Assert.Equal(b1.data<float>(), b3.data<float>());

        var e = Assert.Throws<InvalidDataException>(() => second.load_state(path, [("w", w3), ("bias", b3)]));
        Assert.Contains("m.bias is missing", e.Message);
        File.Delete(path);
    }

    [Fact]
    public void Step_rejects_a_gradient_of_another_shape()
    {
        var w = zeros(8).requires_grad_();
        w.grad = ones(3);
        var opt = optim.AdamW([w], lr: 0.1);
        var e = Assert.Throws<InvalidOperationException>(() => opt.step());
        Assert.Contains("[3]", e.Message);
        Assert.Equal(new float[8], w.data<float>());
    }

    [Fact]
    public void Sgd_with_momentum_and_weight_decay_by_hand()
    {
        // lr 0.1, momentum 0.9, wd 0.5, p = 2: step 1 g = 1 + 0.5 * 2 = 2, b = 2, p = 1.8;
        // step 2 g = -1 + 0.9 = -0.1, b = 0.9 * 2 - 0.1 = 1.7, p = 1.8 - 0.17 = 1.63
        var p = tensor(new float[] { 2 }).requires_grad_();
        var opt = optim.SGD([p], lr: 0.1, momentum: 0.9, weight_decay: 0.5);
        p.grad = tensor(new float[] { 1 });
        opt.step();
        Assert.Equal(1.8f, p.item<float>(), 6);
        p.grad = tensor(new float[] { -1 });
        opt.step();
        Assert.Equal(1.63f, p.item<float>(), 6);
        opt.zero_grad();
        Assert.Null(p.grad);
    }

    [Fact]
    public void Clip_grad_norm_scales_to_max_norm_and_returns_the_total()
    {
        var a = zeros(2).requires_grad_();
        var b = zeros(1).requires_grad_();
        a.grad = tensor(new float[] { 3, 0 });
        b.grad = tensor(new float[] { 4 });
        double norm = nn.utils.clip_grad_norm_([a, b], 1.0);
        Assert.Equal(5.0, norm, 6);
        Close([0.6f, 0], a.grad.data<float>(), 1e-6);
        Close([0.8f], b.grad.data<float>(), 1e-6);
        Assert.Equal(1.0, nn.utils.clip_grad_norm_([a, b], 2.0), 5); // below the limit: unchanged
        Close([0.8f], b.grad.data<float>(), 1e-6);
    }

    [Fact]
    public void Warmup_cosine_schedule_values()
    {
        var f = optim.lr_scheduler.warmup_cosine(warmup: 4, total: 14, min_ratio: 0.1);
        Assert.Equal(0.25, f(0), 12);
        Assert.Equal(1.0, f(3), 12);
        Assert.Equal(1.0, f(4), 12);
        Assert.Equal(0.55, f(9), 12);            // halfway: 0.1 + 0.9 * 0.5
        Assert.Equal(0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 0.8)), f(12), 12);
        Assert.Equal(0.1, f(14), 12);
        Assert.Equal(0.1, f(100), 12);

        var p = zeros(1).requires_grad_();
        var opt = optim.SGD([p], lr: 2.0);
        var sched = new optim.lr_scheduler.LambdaLR(opt, f);
        Assert.Equal(0.5, opt.param_groups[0].lr!.Value, 12);
        for (int i = 0; i < 9; i++) sched.step();
        Assert.Equal(1.1, sched.get_last_lr()[0], 12);
        Assert.Equal(1.0, optim.lr_scheduler.constant()(123));
    }
}
