"""Numbers shared by the numpy and the TensorFlow code. Plain Python: importing it imports neither."""
import math

LOG_2PI = math.log(2.0 * math.pi)  # log(2 pi), of every Gaussian log-density's normaliser
