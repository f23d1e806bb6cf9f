namespace MMEureka.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>In-place initialisers (no gradient recorded), drawing from the default generator.</summary>
        public static class init
        {
            private static Tensor Fill(Tensor t, Action<Span<float>> fill)
            {
                using var _ = no_grad();
                var values = new float[t.Numel];
                fill(values);
                return t.copy_(new Tensor(values, t.Sizes));
            }

            /// <summary>Normal(mean, std) samples.</summary>
            public static Tensor normal_(Tensor t, double mean = 0, double std = 1, Generator? generator = null)
                => Fill(t, v => (generator ?? default_generator).FillNormal(v, (float)mean, (float)std));

            /// <summary>Uniform samples in [a, b).</summary>
            public static Tensor uniform_(Tensor t, double a = 0, double b = 1, Generator? generator = null)
                => Fill(t, v => (generator ?? default_generator).FillUniform(v, (float)a, (float)b));

            /// <summary>Fills with 0.</summary>
            public static Tensor zeros_(Tensor t) => constant_(t, 0);

            /// <summary>Fills with 1.</summary>
            public static Tensor ones_(Tensor t) => constant_(t, 1);

            /// <summary>Fills with <paramref name="value"/>.</summary>
            public static Tensor constant_(Tensor t, double value) => Fill(t, v => v.Fill((float)value));

            /// <summary>(fan_in, fan_out) of a weight [out, in, ...receptive field].</summary>
            public static (long fanIn, long fanOut) CalculateFanInAndFanOut(Tensor t)
            {
                if (t.Sizes.Length < 2) throw new ArgumentException($"fan in/out needs at least 2 dimensions, got {Tensor.ShapeString(t.Sizes)}");
                long receptive = 1;
                for (int i = 2; i < t.Sizes.Length; i++) receptive *= t.Sizes[i];
                return (t.Sizes[1] * receptive, t.Sizes[0] * receptive);
            }

            /// <summary>He et al. (2015) uniform: bound = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2)) for leaky ReLU.
            /// With a = sqrt(5) this is PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).</summary>
            public static Tensor kaiming_uniform_(Tensor t, double a = 0, bool fanIn = true, Generator? generator = null)
            {
                var (fin, fout) = CalculateFanInAndFanOut(t);
                double gain = Math.Sqrt(2.0 / (1 + a * a));
                double bound = gain * Math.Sqrt(3.0 / (fanIn ? fin : fout));
                return uniform_(t, -bound, bound, generator);
            }

            /// <summary>Glorot and Bengio (2010) uniform: bound = gain * sqrt(6 / (fan_in + fan_out)).</summary>
            public static Tensor xavier_uniform_(Tensor t, double gain = 1, Generator? generator = null)
            {
                var (fin, fout) = CalculateFanInAndFanOut(t);
                double bound = gain * Math.Sqrt(6.0 / (fin + fout));
                return uniform_(t, -bound, bound, generator);
            }

            /// <summary>Normal(mean, std) restricted to [a, b] by resampling values outside.</summary>
            public static Tensor trunc_normal_(Tensor t, double mean = 0, double std = 1, double a = -2, double b = 2, Generator? generator = null)
                => Fill(t, v =>
                {
                    var g = generator ?? default_generator;
                    Span<float> one = stackalloc float[2];
                    for (int i = 0; i < v.Length; i++)
                    {
                        do g.FillNormal(one, (float)mean, (float)std);
                        while (one[0] < a || one[0] > b);
                        v[i] = one[0];
                    }
                });
        }
    }
}
