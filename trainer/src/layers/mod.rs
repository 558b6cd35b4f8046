//! The layers, each with its forward and backward pass over channel-last feature maps
//! (`[H][W][C]`, channel fastest): convolution (dilated), max pooling (dilated, strided),
//! `tanh`, and softmax cross-entropy. They know nothing of configurations or data sets.

pub mod activation;
pub mod conv;
pub mod direct;
pub mod loss;
pub mod pool;
