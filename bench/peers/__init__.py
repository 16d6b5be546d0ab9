"""Other OTP implementations the bench can measure otpgate against."""
