"""harmony-agent: the agentic tool-use runtime for OpenAI's open-weight gpt-oss models."""
